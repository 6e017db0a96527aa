// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IModelToken} from "./interfaces/IModelToken.sol";
import {IModelTokenErrors} from "./interfaces/IModelTokenErrors.sol";

/// @title ModelToken: a model's ERC-20 (+ EIP-2612 permit) whose holders earn its inference revenue
/// @notice Deployed once as an implementation (a template); the ModelRegistry gives each model a full copy of
/// it (the template's runtime code, deployed with CREATE2, salt = model id) and initializes it in the same
/// transaction with the compute ledger as its only minter. A copy is not a proxy: a transfer, permit or
/// deposit runs its own code, with no DELEGATECALL to a cold implementation (2,600 gas per call saved
/// against the ERC-1167 clones this replaced; README "Gas"). Because every copy runs the template's code
/// byte for byte, this contract has no per-token immutables (a copy would read the template's values):
/// everything per token lives in storage, and the EIP-712 domain separator is hashed per `permit` call
/// (~100 gas, cheaper than a cold storage read of a cached one).
///
/// Revenue distribution is O(1) per deposit, transfer and claim (the "magnified dividend" scheme):
/// `accrued(a) = (revenuePerShare * balance(a) + correction(a)) / MAGNITUDE`, with corrections moved by
/// `revenuePerShare * amount` on every balance change, so a transfer never moves revenue accrued before it,
/// and a claim folds the paid amount into the correction (one storage write).
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
/// Gas: transfer, transferFrom, approve, permit, the deposit's common case and claim are written in
/// assembly over the packed slots (bench/gas.json compares them with OpenZeppelin 5's ERC20 in one harness);
/// each block states the Solidity it is equivalent to.
///
/// EIP-712 domain of `permit`: `{name: "Shardholder ModelToken", version: "1", chainId,
/// verifyingContract: <this token's address>}`; the verifying contract keeps signatures apart per model.
contract ModelToken is IModelToken, IERC20Metadata, IERC20Permit, IERC5267, IERC20Errors, IModelTokenErrors {
    // ---------------------------------------------------------------- constants

    /// @notice Fixed-point scale of the revenue-per-share accumulator.
    uint256 public constant MAGNITUDE = 2 ** 56;
    uint256 private constant _MAGNITUDE_BITS = 56;
    /// @dev Revenue is distributed only once `supply >= cap >> _DISTRIBUTION_SHIFT`.
    uint256 private constant _DISTRIBUTION_SHIFT = 20;
    /// @dev `revenuePerShare * cap` must stay within int160.
    uint256 private constant _INT160_MAX = 2 ** 159 - 1; // type(int160).max
    uint256 private constant _U96 = 96;
    uint256 private constant _MASK96 = 0xffffffffffffffffffffffff; // type(uint96).max
    uint256 private constant _HELD_FLAG = 1 << 255;
    /// @dev Set in `_supply` by the mint that takes the supply to `minDistributionSupply` (the supply never
    /// decreases, so it stays set): the deposit's fast path then needs neither the cap nor a comparison.
    uint256 private constant _DISTRIBUTING_FLAG = 1 << 254;
    /// @dev `_supply >> 254` when distributing and nothing is held.
    uint256 private constant _FAST_DEPOSIT = 1;
    /// @dev A revenue per share up to 2^63 is within `_INT160_MAX / cap` for every cap below 2^96, so the deposit's
    /// fast path checks its bound without reading or dividing by the cap.
    uint256 private constant _SAFE_RPS = 1 << 63;
    /// @dev secp256k1n / 2: a larger `s` is the malleable twin of a valid signature (OZ ECDSA rejects it too).
    uint256 private constant _HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    string private constant _EIP712_NAME = "Shardholder ModelToken";
    string private constant _EIP712_VERSION = "1";
    bytes32 private constant _PERMIT_TYPEHASH =
        // solhint-disable-next-line gas-small-strings
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 private constant _DOMAIN_TYPEHASH =
        // solhint-disable-next-line gas-small-strings
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _HASHED_NAME = keccak256(bytes(_EIP712_NAME));
    bytes32 private constant _HASHED_VERSION = keccak256(bytes(_EIP712_VERSION));

    // ---------------------------------------------------------------- storage

    /// @dev `revenuePerShareMagnified (uint160) << 96 | remainderMagnified (uint96)`: the one global slot a
    /// transfer or claim reads and the only one a deposit writes. The remainder is the carried division
    /// remainder of the last deposit, below the supply (so below 2^96).
    uint256 private _global;
    /// @dev `held flag (bit 255) | distributing flag (bit 254) | capTokens (uint96) << 96 | totalSupply (uint96)`:
    /// read by deposits, written by mints (and the held flag by deposits that hold). The held flag says `_held`
    /// is non-zero, so the common paths never read `_held`.
    uint256 private _supply;
    /// @dev Magnified revenue held back: deposits made below `minDistributionSupply`, or the part of a
    /// deposit the accumulator's bound did not let through. Credited by the next deposit or mint that can.
    uint256 private _held;
    /// @dev Per account `correction (int160) << 96 | balance (uint96)`: one slot per holder.
    mapping(address account => uint256) private _accounts;
    mapping(address account => mapping(address spender => uint256)) private _allowances;
    /// @dev EIP-2612 nonces.
    mapping(address owner => uint256) private _nonces;
    address private _minter;
    bool private _initialized;
    string private _name;
    string private _symbol;

    // ---------------------------------------------------------------- setup

    /// @dev Locks the template: only its copies (and clones) start uninitialized.
    constructor() {
        _initialized = true;
    }

    /// @notice Initializes a fresh copy; the registry calls it in the transaction that deploys the copy.
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
    /// @dev `_move` checks `to` (zero or this token: `ERC20InvalidReceiver(to)`) and ends the call itself,
    /// returning `true`.
    function transfer(address to, uint256 value) external returns (bool) {
        return _move(msg.sender, to, value);
    }

    /// @notice Moves `value` tokens from `from` to `to` using the caller's allowance.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        bytes4 insufficient = ERC20InsufficientAllowance.selector;
        // Spends the allowance. Equivalent to: `current = allowance[from][msg.sender]; if (current !=
        // type(uint256).max) { if (current < value) revert ERC20InsufficientAllowance(msg.sender, current, value);
        // allowance[from][msg.sender] = current - value; }` (no Approval event, as OZ 5).
        assembly ("memory-safe") {
            mstore(0x00, from)
            mstore(0x20, _allowances.slot)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, caller())
            let slot := keccak256(0x00, 0x40)
            let current := sload(slot)
            if not(current) {
                if lt(current, value) {
                    let ptr := mload(0x40)
                    mstore(ptr, insufficient)
                    mstore(add(ptr, 0x04), caller())
                    mstore(add(ptr, 0x24), current)
                    mstore(add(ptr, 0x44), value)
                    revert(ptr, 0x64)
                }
                sstore(slot, sub(current, value))
            }
        }
        return _move(from, to, value); // ends the call, returning true
    }

    /// @notice Sets `spender`'s allowance over the caller's tokens to `value`.
    function approve(address spender, uint256 value) external returns (bool) {
        _approve(msg.sender, spender, value);
        return true;
    }

    /// @notice EIP-2612: sets an allowance from `owner`'s signature (domain documented on the contract).
    /// @dev Same checks and errors as OZ ERC20Permit: expired deadline, then the owner's nonce is used, a high
    /// `s` is rejected (`ECDSAInvalidSignatureS`), a signature recovering to no one is rejected
    /// (`ECDSAInvalidSignature`), and any other signer than `owner` is rejected (`ERC2612InvalidSigner`).
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        if (uint256(s) > _HALF_N) revert ECDSA.ECDSAInvalidSignatureS(s);
        bytes32 permitTypehash = _PERMIT_TYPEHASH;
        bytes32 domainSeparator = _domainSeparator();
        address signer;
        // Equivalent to: `digest = keccak256("\x19\x01" ++ domainSeparator ++ keccak256(abi.encode(_PERMIT_TYPEHASH,
        // owner, spender, value, _nonces[owner]++, deadline))); signer = ecrecover(digest, v, r, s)`.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(0x00, owner)
            mstore(0x20, _nonces.slot)
            let nonceSlot := keccak256(0x00, 0x40)
            let nonce := sload(nonceSlot)
            sstore(nonceSlot, add(nonce, 1)) // a nonce never reaches 2^256 - 1
            mstore(ptr, permitTypehash)
            mstore(add(ptr, 0x20), owner)
            mstore(add(ptr, 0x40), spender)
            mstore(add(ptr, 0x60), value)
            mstore(add(ptr, 0x80), nonce)
            mstore(add(ptr, 0xa0), deadline)
            let structHash := keccak256(ptr, 0xc0)
            mstore(ptr, 0x1901)
            mstore(add(ptr, 0x20), domainSeparator)
            mstore(add(ptr, 0x40), structHash)
            let digest := keccak256(add(ptr, 0x1e), 0x42)
            mstore(ptr, digest)
            mstore(add(ptr, 0x20), and(v, 0xff))
            mstore(add(ptr, 0x40), r)
            mstore(add(ptr, 0x60), s)
            // ecrecover leaves no output (returndatasize 0) for an invalid signature
            if staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20) { signer := mul(mload(0x00), eq(returndatasize(), 0x20)) }
        }
        if (signer == address(0)) revert ECDSA.ECDSAInvalidSignature();
        if (signer != owner) revert ERC2612InvalidSigner(signer, owner);
        _approve(owner, spender, value);
    }

    /// @notice The current permit nonce of `owner`.
    function nonces(address owner) external view returns (uint256) {
        return _nonces[owner];
    }

    /// @notice The EIP-712 domain separator `permit` uses (it contains this token's address).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparator();
    }

    /// @notice ERC-5267: the fields of the EIP-712 domain (name, version, chain id, this token's address).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name_,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", _EIP712_NAME, _EIP712_VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
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
        if (to == address(this)) revert ERC20InvalidReceiver(to);
        // supply + amount <= cap <= type(uint96).max: no carry into the cap bits
        // solhint-disable-next-line gas-strict-inequalities
        bool distributing = supplyAfter != 0 && supplyAfter >= (capTokens >> _DISTRIBUTION_SHIFT);
        _supply = distributing ? (supplySlot + amountTokens) | _DISTRIBUTING_FLAG : supplySlot + amountTokens;
        // amount <= cap and rps <= (2^159-1)/cap: the product and the new correction stay in int160, and the new
        // balance is at most the supply, below 2^96 (the same packed arithmetic as `_move`'s receiving side).
        uint256 rps = _global >> _U96;
        unchecked {
            _accounts[to] = _accounts[to] + amountTokens - ((rps * amountTokens) << _U96);
        }
        emit Transfer(address(0), to, amountTokens);
        // Credits revenue held while the supply was too small, once the supply allows it.
        if (distributing && supplySlot & _HELD_FLAG != 0) _distribute(0);
    }

    /// @inheritdoc IModelToken
    /// @dev The common case (supply at or above `minDistributionSupply`, nothing held, the accumulator below
    /// 2^63) is one read of `_supply`, one read and one write of `_global`, in assembly; every other case goes
    /// through `_distribute`, which it equals on the common case (there `step <= room` as the new accumulator
    /// is below 2^63 <= `_INT160_MAX / cap`, and the remainder is below the supply).
    function depositRevenue() external payable {
        if (msg.value == 0) revert ModelTokenZeroDeposit();
        bytes32 topic = RevenueDeposited.selector;
        assembly ("memory-safe") {
            let supplySlot := sload(_supply.slot)
            // distributing (so supply != 0 and supply >= cap >> 20) and nothing held
            if eq(shr(254, supplySlot), _FAST_DEPOSIT) {
                let supply := and(supplySlot, _MASK96)
                let global := sload(_global.slot)
                // msg.value * 2^56 cannot overflow for any ETH amount in existence (< 2^200 wei)
                let pending := add(and(global, _MASK96), shl(_MAGNITUDE_BITS, callvalue()))
                let rps := add(shr(_U96, global), div(pending, supply))
                // rps < 2^63 <= _INT160_MAX / cap: within the accumulator's bound, nothing to hold back
                if lt(rps, _SAFE_RPS) {
                    // pending - step * supply = pending mod supply < supply < 2^96
                    sstore(_global.slot, or(shl(_U96, rps), mod(pending, supply)))
                    mstore(0x00, callvalue())
                    log2(0x00, 0x20, topic, caller())
                    return(0x00, 0x00)
                }
            }
        }
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

    /// @dev Every balance change between accounts (transfer, transferFrom; mints are in `mint`, there is no
    /// burn). Moves the corrections by `revenuePerShare * value` so that no account's accrued revenue
    /// changes. Tokens can never reach the token contract itself (`ERC20InvalidReceiver(this)`): they would
    /// count in the supply that revenue is shared over, and the share accrued to them could never be claimed.
    /// Equivalent to:
    /// `if (to == 0 || to == this) revert ERC20InvalidReceiver(to); if (balance(from) < value) revert
    /// ERC20InsufficientBalance(from, balance(from), value); balance(from) -= value; correction(from) += rps * value;
    /// balance(to) += value; correction(to) -= rps * value; emit Transfer(from, to, value); return true` where the
    /// last step ends the external call (ABI-encoded `true`), so the caller's code after `_move` never runs:
    /// it must be the last thing `transfer` and `transferFrom` do. This skips Solidity's return path (~60 gas).
    /// Packed arithmetic: `value <= balance(from)`, so subtracting it from the slot never borrows from the
    /// correction; `balance(to) + value <= supply < 2^96`, so adding it never carries into the correction; and
    /// `rps * value` and both new corrections stay within int160 (rps <= (2^159 - 1) / cap, value <= cap), so
    /// adding or subtracting `rps * value << 96` modulo 2^256 is exact on the top 160 bits. From and to may be
    /// the same account: the second read sees the first write, and the slot ends unchanged.
    /// Its `bool` is never returned in Solidity (`_move` does not return to its caller); it only lets the
    /// callers `return _move(...)` without code the compiler would flag as unreachable.
    function _move(address from, address to, uint256 value) private returns (bool) {
        bytes32 topic = Transfer.selector;
        bytes4 insufficient = ERC20InsufficientBalance.selector;
        bytes4 invalidReceiver = ERC20InvalidReceiver.selector;
        assembly ("memory-safe") {
            if or(iszero(to), eq(to, address())) {
                mstore(0x00, invalidReceiver)
                mstore(0x04, to)
                revert(0x00, 0x24)
            }
            let delta := shl(_U96, mul(shr(_U96, sload(_global.slot)), value))
            mstore(0x00, from)
            mstore(0x20, _accounts.slot)
            let fromSlot := keccak256(0x00, 0x40)
            let fromPacked := sload(fromSlot)
            let fromBalance := and(fromPacked, _MASK96)
            if lt(fromBalance, value) {
                let ptr := mload(0x40)
                mstore(ptr, insufficient)
                mstore(add(ptr, 0x04), from)
                mstore(add(ptr, 0x24), fromBalance)
                mstore(add(ptr, 0x44), value)
                revert(ptr, 0x64)
            }
            sstore(fromSlot, add(sub(fromPacked, value), delta))
            mstore(0x00, to)
            let toSlot := keccak256(0x00, 0x40)
            sstore(toSlot, sub(add(sload(toSlot), value), delta))
            mstore(0x00, value)
            log3(0x00, 0x20, topic, from, to)
            mstore(0x00, 1)
            return(0x00, 0x20)
        }
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
    /// pays. Equivalent to:
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

    /// @dev Equivalent to: `if (owner == 0) revert ERC20InvalidApprover(0); if (spender == 0) revert
    /// ERC20InvalidSpender(0); allowance[owner][spender] = value; emit Approval(owner, spender, value)`.
    function _approve(address owner, address spender, uint256 value) private {
        if (owner == address(0)) revert ERC20InvalidApprover(address(0));
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        bytes32 topic = Approval.selector;
        assembly ("memory-safe") {
            mstore(0x00, owner)
            mstore(0x20, _allowances.slot)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, spender)
            sstore(keccak256(0x00, 0x40), value)
            mstore(0x00, value)
            log3(0x00, 0x20, topic, owner, spender)
        }
    }

    /// @dev `keccak256(abi.encode(EIP712Domain typehash, keccak256(name), keccak256(version), chainid, this))`,
    /// hashed per call: a copy of the template cannot hold its own in an immutable, and a storage cache would
    /// cost a cold read (2,100) against ~100 gas of hashing.
    function _domainSeparator() private view returns (bytes32 separator) {
        bytes32 typehash = _DOMAIN_TYPEHASH;
        bytes32 hashedName = _HASHED_NAME;
        bytes32 hashedVersion = _HASHED_VERSION;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), hashedName)
            mstore(add(ptr, 0x40), hashedVersion)
            mstore(add(ptr, 0x60), chainid())
            mstore(add(ptr, 0x80), address())
            separator := keccak256(ptr, 0xa0)
        }
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
}
