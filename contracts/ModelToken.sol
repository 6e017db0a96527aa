// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IModelToken} from "./interfaces/IModelToken.sol";
import {IModelTokenErrors} from "./interfaces/IModelTokenErrors.sol";

/// @title ModelToken: a model's ERC-20 (+ EIP-2612 permit) whose holders earn its inference revenue
/// @notice Deployed once as an implementation and used through ERC-1167 clones, one per model, each
/// initialized by the ModelRegistry with the compute ledger as its only minter.
///
/// Revenue distribution is O(1) per deposit, transfer and claim (the "magnified dividend" scheme):
/// `accrued(a) = (revenuePerShare * balance(a) + correction(a)) / MAGNITUDE`, with corrections moved by
/// `revenuePerShare * amount` in the one `_update` hook, so a transfer never moves revenue accrued
/// before it, and a claim folds the paid amount into the correction (one storage write).
///
/// Exactness: the per-deposit division remainder stays in `_global` (beside the accumulator) and is carried
/// into the next deposit, so the accounts' magnified accruals plus that remainder always equal the magnified
/// deposits. Each account's sub-wei fraction stays with the account. Dust held in the contract is thus
/// below one wei per account plus `supply / MAGNITUDE` wei; nothing is ever over-paid.
///
/// Overflow safety (one packed slot per account: `uint96 balance | int160 correction`): revenue per share
/// is capped at `(2^159 - 1) / cap` so `revenuePerShare * balance` and every correction fit in int160, and
/// revenue is held (not distributed) while the supply is below `cap >> 20`, so a tiny early supply cannot
/// inflate the per-share value: exhausting the cap then takes more than 2^79 wei (~600k ETH) of revenue
/// deposited at that minimum supply. Held revenue is credited at the mint that reaches the minimum supply.
///
/// EIP-712 domain of `permit`: `{name: "Shardholder ModelToken", version: "1", chainId,
/// verifyingContract: <the clone's address>}`. The name is fixed in the implementation's immutables and
/// shared by every clone; the verifying contract (rebuilt per call in a clone) keeps signatures apart.
contract ModelToken is
    IModelToken,
    IERC20Metadata,
    IERC20Permit,
    IERC20Errors,
    IModelTokenErrors,
    EIP712,
    Nonces
{
    // ---------------------------------------------------------------- constants

    /// @notice Fixed-point scale of the revenue-per-share accumulator.
    uint256 public constant MAGNITUDE = 2 ** 56;
    uint256 private constant _MAGNITUDE_BITS = 56;
    /// @dev Revenue is distributed only once `supply >= cap >> _DISTRIBUTION_SHIFT`.
    uint256 private constant _DISTRIBUTION_SHIFT = 20;
    /// @dev `revenuePerShare * cap` must stay within int160.
    uint256 private constant _INT160_MAX = uint256(uint160(type(int160).max));
    uint256 private constant _U96 = 96;
    uint256 private constant _MASK96 = type(uint96).max;
    uint256 private constant _HELD_FLAG = 1 << 255;
    bytes32 private constant _PERMIT_TYPEHASH =
        // solhint-disable-next-line gas-small-strings
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    // ---------------------------------------------------------------- storage

    /// @dev `revenuePerShareMagnified (uint160) << 96 | remainderMagnified (uint96)`: the one global slot a
    /// transfer or claim reads and the only one a deposit writes. The remainder is the carried division
    /// remainder of the last deposit, below the supply (so below 2^96).
    uint256 private _global;
    /// @dev `held flag (bit 255) | capTokens (uint96) << 96 | totalSupply (uint96)`: read by deposits, written by
    /// mints only. The flag says `_held` is non-zero, so the common paths never read `_held`.
    uint256 private _supply;
    /// @dev Magnified revenue held back: deposits made below `minDistributionSupply`, or the part of a
    /// deposit the accumulator's bound did not let through. Credited by the next deposit or mint that can.
    uint256 private _held;
    /// @dev Per account `correction (int160) << 96 | balance (uint96)`: one slot per holder.
    mapping(address account => uint256) private _accounts;
    mapping(address account => mapping(address spender => uint256)) private _allowances;
    address private _minter;
    bool private _initialized;
    string private _name;
    string private _symbol;

    // ---------------------------------------------------------------- setup

    /// @dev Locks the implementation: only clones can be initialized.
    constructor() EIP712("Shardholder ModelToken", "1") {
        _initialized = true;
    }

    /// @notice Initializes a fresh clone; the registry calls it in the transaction that creates the clone.
    /// @param name_ ERC-20 name. @param symbol_ ERC-20 symbol.
    /// @param minter_ The only account that may mint (the compute ledger).
    /// @param capTokens Hard cap of the supply in token wei, `1..type(uint96).max`.
    function initialize(string calldata name_, string calldata symbol_, address minter_, uint256 capTokens)
        external
    {
        if (_initialized) revert ModelTokenAlreadyInitialized();
        if (minter_ == address(0)) revert ModelTokenZeroMinter();
        if (capTokens == 0 || capTokens > _MASK96) revert ModelTokenInvalidCap(capTokens);
        _initialized = true;
        _minter = minter_;
        _name = name_;
        _symbol = symbol_;
        _supply = capTokens << _U96;
        emit ModelTokenInitialized(name_, symbol_, minter_, capTokens);
    }

    // ---------------------------------------------------------------- ERC-20 metadata and views

    /// @notice The token's name.
    function name() external view returns (string memory) {
        return _name;
    }

    /// @notice The token's symbol.
    function symbol() external view returns (string memory) {
        return _symbol;
    }

    /// @notice Always 18.
    function decimals() external pure returns (uint8) {
        return 18;
    }

    /// @notice Tokens in existence, in token wei.
    function totalSupply() external view returns (uint256) {
        return _supply & _MASK96;
    }

    /// @notice Balance of `account` in token wei.
    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account] & _MASK96;
    }

    /// @notice Remaining allowance of `spender` over `owner`'s tokens.
    function allowance(address owner, address spender) external view returns (uint256) {
        return _allowances[owner][spender];
    }

    /// @notice The supply cap in token wei.
    function cap() external view returns (uint256) {
        return (_supply >> _U96) & _MASK96;
    }

    /// @notice The only account allowed to mint (the compute ledger).
    function minter() external view returns (address) {
        return _minter;
    }

    /// @notice Supply below which deposited revenue is held instead of distributed (`cap >> 20`, at least 1).
    function minDistributionSupply() public view returns (uint256) {
        uint256 min = ((_supply >> _U96) & _MASK96) >> _DISTRIBUTION_SHIFT;
        return min == 0 ? 1 : min;
    }

    /// @notice Revenue held in the contract and not yet credited to holders, in wei (rounded down):
    /// deposits made below `minDistributionSupply` plus the carried division remainder.
    function undistributedRevenue() external view returns (uint256) {
        return (_held + (_global & _MASK96)) / MAGNITUDE;
    }

    /// @notice The accumulator: revenue per token wei, times `MAGNITUDE`.
    function revenuePerShareMagnified() external view returns (uint256) {
        return _global >> _U96;
    }

    /// @inheritdoc IModelToken
    function claimable(address account) external view returns (uint256) {
        uint256 slot = _accounts[account];
        return _accruedMagnified(_global >> _U96, slot) / MAGNITUDE;
    }

    // ---------------------------------------------------------------- ERC-20 operations

    /// @notice Moves `value` tokens from the caller to `to`; revenue accrued so far stays with each side.
    function transfer(address to, uint256 value) external returns (bool) {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _update(msg.sender, to, value);
        return true;
    }

    /// @notice Moves `value` tokens from `from` to `to` using the caller's allowance.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _spendAllowance(from, msg.sender, value);
        _update(from, to, value);
        return true;
    }

    /// @notice Sets `spender`'s allowance over the caller's tokens to `value`.
    function approve(address spender, uint256 value) external returns (bool) {
        _approve(msg.sender, spender, value);
        return true;
    }

    /// @notice EIP-2612: sets an allowance from `owner`'s signature (domain documented on the contract).
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        bytes32 structHash = keccak256(abi.encode(_PERMIT_TYPEHASH, owner, spender, value, _useNonce(owner), deadline));
        address signer = ECDSA.recover(_hashTypedDataV4(structHash), v, r, s);
        if (signer != owner) revert ERC2612InvalidSigner(signer, owner);
        _approve(owner, spender, value);
    }

    /// @notice The current permit nonce of `owner`.
    function nonces(address owner) public view override(IERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @notice The EIP-712 domain separator `permit` uses (it contains this clone's address).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- minting and revenue

    /// @inheritdoc IModelToken
    function mint(address to, uint256 amountTokens) external {
        if (msg.sender != _minter) revert ModelTokenUnauthorizedMinter(msg.sender);
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 supplySlot = _supply;
        uint256 capTokens = (supplySlot >> _U96) & _MASK96;
        uint256 supplyAfter = (supplySlot & _MASK96) + amountTokens;
        if (supplyAfter > capTokens) revert ModelTokenCapExceeded(supplyAfter, capTokens);
        _update(address(0), to, amountTokens);
        // Credits revenue held while the supply was too small, once the supply allows it.
        // solhint-disable-next-line gas-strict-inequalities
        if (supplySlot & _HELD_FLAG != 0 && supplyAfter >= (capTokens >> _DISTRIBUTION_SHIFT)) _distribute(0);
    }

    /// @inheritdoc IModelToken
    function depositRevenue() external payable {
        if (msg.value == 0) revert ModelTokenZeroDeposit();
        _distribute(msg.value);
        emit RevenueDeposited(msg.sender, msg.value);
    }

    /// @inheritdoc IModelToken
    /// @custom:security Checks-effects-interactions, no guard: the claimed amount is taken off the account's
    /// correction before the ETH leaves and nothing is read after the call, so a reentrant claim, transfer or
    /// deposit sees settled state (ModelToken.t.sol proves a reentrant receiver is paid once, exactly).
    function claim() external returns (uint256) {
        return _claim(msg.sender, msg.sender);
    }

    /// @inheritdoc IModelToken
    /// @custom:security As `claim()`: effects before the ETH leaves, nothing read after it.
    function claim(address to) external returns (uint256) {
        if (to == address(0)) revert ModelTokenZeroRecipient();
        return _claim(msg.sender, to);
    }

    /// @inheritdoc IModelToken
    /// @dev Anyone may call it: the revenue can only go to `account` itself.
    /// @custom:security As `claim()`: effects before the ETH leaves, nothing read after it.
    function claimFor(address account) external returns (uint256) {
        if (account == address(0)) revert ModelTokenZeroRecipient();
        return _claim(account, account);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The one hook of every balance change (mint, transfer; there is no burn). Moves the
    /// corrections by `revenuePerShare * value` so that no account's accrued revenue changes.
    /// Tokens can never reach the token contract itself (`ERC20InvalidReceiver(this)`): they would count in
    /// the supply that revenue is shared over, and the share accrued to them could never be claimed.
    function _update(address from, address to, uint256 value) internal {
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        uint256 rps = _global >> _U96;
        if (from == address(0)) {
            // mint checked `supply + value <= cap <= type(uint96).max`: no carry into the cap bits
            _supply += value;
        } else {
            uint256 fromSlot = _accounts[from];
            uint256 fromBalance = fromSlot & _MASK96;
            if (fromBalance < value) revert ERC20InsufficientBalance(from, fromBalance, value);
            _accounts[from] = _pack(fromBalance - value, _correction(fromSlot) + int256(rps * value));
        }
        // value <= supply <= cap and rps <= (2^159-1)/cap: the products and sums below stay in int160.
        uint256 toSlot = _accounts[to];
        _accounts[to] = _pack((toSlot & _MASK96) + value, _correction(toSlot) - int256(rps * value));
        emit Transfer(from, to, value);
    }

    /// @dev Adds `amountWei` (plus the carried remainder and anything held) to the accumulator when the supply
    /// allows it. Steady state: reads `_supply` and `_global`, writes `_global` only.
    function _distribute(uint256 amountWei) private {
        uint256 supplySlot = _supply;
        uint256 global = _global;
        uint256 rps = global >> _U96;
        uint256 pending = (global & _MASK96) + amountWei * MAGNITUDE;
        bool wasHeld = supplySlot & _HELD_FLAG != 0;
        if (wasHeld) pending += _held;
        uint256 supply = supplySlot & _MASK96;
        uint256 capTokens = (supplySlot >> _U96) & _MASK96;
        // solhint-disable-next-line gas-strict-inequalities
        if (supply != 0 && supply >= (capTokens >> _DISTRIBUTION_SHIFT)) {
            uint256 step = pending / supply;
            uint256 room = _INT160_MAX / capTokens - rps;
            if (step > room) step = room;
            pending -= step * supply;
            rps += step;
        }
        if (pending < supply) {
            // the common case: everything credited, the remainder (< supply < 2^96) carried in `_global`
            _global = (rps << _U96) | pending;
            if (wasHeld) {
                _supply = supplySlot & ~_HELD_FLAG;
                _held = 0;
            }
        } else {
            if (pending > type(uint160).max) revert ModelTokenRevenueOverflow();
            _global = rps << _U96;
            _held = pending;
            if (!wasHeld) _supply = supplySlot | _HELD_FLAG;
        }
    }

    /// @dev The claim hot path (bench/gas.json: claim <= 40k), in assembly because the benchmark shows it
    /// pays (~1k of Solidity overhead on ~16k of unavoidable reads, write, event and transfer). Equivalent to:
    /// `amount = accrued(account) / MAGNITUDE; if (amount == 0) return 0; correction -= amount * MAGNITUDE;
    /// emit RevenueClaimed(account, to, amount); send amount to to`. The correction is updated on its 160 bits
    /// in place: the new correction is >= -revenuePerShare * balance (the accrual stays >= 0), so it stays
    /// within int160 and the wrapping subtraction of the shifted amount is exact.
    function _claim(address account, address to) private returns (uint256 amountWei) {
        bytes32 topic = RevenueClaimed.selector;
        bool ok = true;
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, _accounts.slot)
            let accountSlot := keccak256(0x00, 0x40)
            let packed := sload(accountSlot)
            // rps * balance fits int160 (rps <= (2^159 - 1) / cap, balance <= cap); correction is int160
            let accrued := add(mul(shr(_U96, sload(_global.slot)), and(packed, 0xffffffffffffffffffffffff)), signextend(19, shr(_U96, packed)))
            if sgt(accrued, 0) { amountWei := shr(_MAGNITUDE_BITS, accrued) }
            if amountWei {
                sstore(accountSlot, sub(packed, shl(add(_MAGNITUDE_BITS, _U96), amountWei)))
                mstore(0x00, amountWei)
                log3(0x00, 0x20, topic, account, to)
                ok := call(gas(), to, amountWei, 0, 0, 0, 0)
            }
        }
        if (!ok) revert ModelTokenTransferFailed(to);
    }

    function _spendAllowance(address owner, address spender, uint256 value) private {
        uint256 current = _allowances[owner][spender];
        if (current != type(uint256).max) {
            if (current < value) revert ERC20InsufficientAllowance(spender, current, value);
            unchecked {
                _allowances[owner][spender] = current - value;
            }
        }
    }

    function _approve(address owner, address spender, uint256 value) private {
        if (owner == address(0)) revert ERC20InvalidApprover(address(0));
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        _allowances[owner][spender] = value;
        emit Approval(owner, spender, value);
    }

    /// @dev Magnified revenue accrued and not yet claimed; never negative by construction. Unchecked:
    /// `rps * balance` fits int160 (rps <= (2^159 - 1) / cap, balance <= cap) and so does the correction.
    function _accruedMagnified(uint256 rps, uint256 slot) private pure returns (uint256) {
        unchecked {
            int256 accrued = int256(rps * (slot & _MASK96)) + _correction(slot);
            return accrued > 0 ? uint256(accrued) : 0;
        }
    }

    function _correction(uint256 slot) private pure returns (int256) {
        return int256(int160(uint160(slot >> _U96)));
    }

    function _pack(uint256 balance, int256 correction) private pure returns (uint256) {
        return (uint256(uint160(int160(correction))) << _U96) | balance;
    }
}
