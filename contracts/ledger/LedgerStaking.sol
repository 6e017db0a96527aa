// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerCore} from "./LedgerCore.sol";
import {StakeSortition} from "./StakeSortition.sol";

/// @title Native-ETH staking of workers and validators, unbonding and pull payments
abstract contract LedgerStaking is LedgerCore {
    /// @notice Adds `msg.value` to the caller's stake and sets its payout address and signing key.
    /// @dev The caller is the staking identity. `payout` receives token rewards; `signingKey` signs
    /// commitments and is kept apart from both so a hot key leak cannot redirect rewards or stake.
    /// Rejected while unbonding or jailed, so a stake that is leaving or was slashed cannot be topped up
    /// back into service. A zero value is allowed and only updates the addresses.
    /// @param payout Receives the token rewards; nonzero.
    /// @param signingKey Current commitment signing key; nonzero.
    function stake(address payout, address signingKey) external payable {
        if (payout == address(0) || signingKey == address(0)) revert ComputeLedgerZeroAddress();
        StakerSlot storage s = _stakers[msg.sender];
        if (s.flags & _STAKER_UNBONDING != 0) revert ComputeLedgerUnbonding();
        if (s.flags & _STAKER_JAILED != 0) revert ComputeLedgerJailed();
        uint256 total = uint256(s.stakeWei) + msg.value;
        if (total > type(uint88).max) revert ComputeLedgerStakeOverflow();
        s.stakeWei = uint88(total);
        if (s.payout != payout) {
            s.payout = payout;
            emit PayoutAddressSet(msg.sender, payout);
        }
        address previousKey = s.signingKey;
        if (previousKey != signingKey) {
            if (previousKey != address(0)) _keyRetiredAt[msg.sender][previousKey] = block.timestamp;
            s.signingKey = signingKey;
            emit SigningKeyRotated(msg.sender, previousKey, signingKey);
        }
        if (msg.value != 0) {
            emit Staked(msg.sender, msg.value, total);
            _syncSortition(msg.sender);
        }
    }

    /// @notice Replaces the caller's commitment signing key.
    /// @dev Takes effect immediately: signatures by the previous key are rejected from now on, even
    /// for commitments signed earlier and not yet submitted (a leaked key is cut off at once). The
    /// previous key's link receipts of rounds already begun stay evidence (`proveLinkEquivocation`).
    function rotateSigningKey(address newKey) external {
        if (newKey == address(0)) revert ComputeLedgerZeroAddress();
        StakerSlot storage s = _stakers[msg.sender];
        address previousKey = s.signingKey;
        if (previousKey == address(0)) revert ComputeLedgerNotRegistered();
        _keyRetiredAt[msg.sender][previousKey] = block.timestamp;
        s.signingKey = newKey;
        emit SigningKeyRotated(msg.sender, previousKey, newKey);
    }

    /// @notice Changes where the caller's future token rewards are minted.
    /// @dev Only the staking identity can change it; rewards already minted stay where they went.
    function setPayoutAddress(address payout) external {
        if (payout == address(0)) revert ComputeLedgerZeroAddress();
        StakerSlot storage s = _stakers[msg.sender];
        if (s.signingKey == address(0)) revert ComputeLedgerNotRegistered();
        s.payout = payout;
        emit PayoutAddressSet(msg.sender, payout);
    }

    /// @notice Opts the caller in or out of the validators of one stage of one model (audits,
    /// attestations, challenges and committees of that stage only).
    /// @dev A validator holds one stage at a time, so it never needs another stage's weights (miners
    /// serve weights only to the stage's own members: docs/PROTOCOL.md "Stages"). To move, opt out
    /// of the current stage first. Committees are drawn stake-weighted (`StakeSortition`) from the
    /// stage's validators: an entry's weight is its stake while it is a validator there, not
    /// unbonding and not jailed, so a flood of empty or tiny entries is (almost) never drawn and a
    /// draw costs `O(log n)` whatever the set's size. An account keeps its entry in a stage for good
    /// (weight 0 when out); opting in again to the same stage reuses it. The model's minimum
    /// validator stake is checked when drawn.
    /// @param modelId A registered model.
    /// @param stage A stage of it (`< stageCount`); when opting out, the stage currently held.
    function setValidator(uint64 modelId, uint16 stage, bool validator) external {
        StakerSlot storage s = _stakers[msg.sender];
        if (s.signingKey == address(0)) revert ComputeLedgerNotRegistered();
        uint16 stageCount = _model(modelId).stageCount;
        if (stage >= stageCount) revert ComputeLedgerBadStage(stage, stageCount);
        uint256 group = _group(modelId, stage);
        uint256 seat = _validatorSeats[msg.sender];
        bool current = s.flags & _STAKER_VALIDATOR != 0;
        if (validator) {
            if (current) {
                if (_seatGroup(seat) == group) revert ComputeLedgerValidatorUnchanged();
                revert ComputeLedgerValidatorOfAnotherStage(uint64(seat >> 80), uint16(seat >> 64));
            }
            if (_seatGroup(seat) != group || uint64(seat) == 0) {
                _groupValidators[group].push(msg.sender);
                uint256 index = StakeSortition.append(_sortitions[group]);
                _validatorSeats[msg.sender] = (group << 64) | index;
            }
            s.flags |= _STAKER_VALIDATOR;
        } else {
            if (!current || _seatGroup(seat) != group) revert ComputeLedgerValidatorUnchanged();
            s.flags &= ~_STAKER_VALIDATOR;
        }
        _syncSortition(msg.sender);
        emit ValidatorSet(msg.sender, modelId, stage, validator);
    }

    /// @notice Starts unbonding the caller's whole stake; it stops serving and committing at once.
    /// @dev Irreversible; the stake stays slashable for `UNBONDING_DELAY_SEC`, which exceeds the
    /// commit + challenge + vote windows of every model the caller could have committed to.
    function requestUnbond() external {
        StakerSlot storage s = _stakers[msg.sender];
        if (s.stakeWei == 0) revert ComputeLedgerNothingToWithdraw();
        if (s.flags & _STAKER_UNBONDING != 0) revert ComputeLedgerUnbonding();
        s.flags |= _STAKER_UNBONDING;
        s.unbondRequestedAt = uint40(block.timestamp);
        _syncSortition(msg.sender);
        emit UnbondRequested(msg.sender, block.timestamp + UNBONDING_DELAY_SEC);
    }

    /// @notice Sends the caller's remaining stake to the caller after the unbonding delay.
    /// @dev Blocked while any dispute against the caller is open (the stake is still at risk).
    /// State is cleared before the transfer and the function is `nonReentrant`.
    function withdrawStake() external nonReentrant {
        StakerSlot storage s = _stakers[msg.sender];
        if (s.flags & _STAKER_UNBONDING == 0) revert ComputeLedgerNotUnbonding();
        uint256 withdrawableAt = uint256(s.unbondRequestedAt) + UNBONDING_DELAY_SEC;
        if (block.timestamp < withdrawableAt) revert ComputeLedgerUnbondingNotElapsed(withdrawableAt);
        if (s.openDisputes != 0) revert ComputeLedgerStakeAtRisk();
        uint256 amount = s.stakeWei;
        s.stakeWei = 0;
        s.flags &= ~_STAKER_UNBONDING;
        s.unbondRequestedAt = 0;
        if (s.flags & _STAKER_VALIDATOR != 0) {
            s.flags &= ~_STAKER_VALIDATOR;
            uint256 seat = _validatorSeats[msg.sender];
            emit ValidatorSet(msg.sender, uint64(seat >> 80), uint16(seat >> 64), false);
        }
        emit StakeWithdrawn(msg.sender, msg.sender, amount);
        _sendValue(msg.sender, amount);
    }

    /// @notice Sends the caller everything credited to it (won bonds, slashing rewards, refunds).
    /// @dev Pull payment: nobody is paid by push, so a reverting recipient only hurts itself.
    function withdrawPayments() external nonReentrant {
        uint256 amount = _payments[msg.sender];
        if (amount == 0) revert ComputeLedgerNothingToWithdraw();
        _payments[msg.sender] = 0;
        emit PaymentWithdrawn(msg.sender, amount);
        _sendValue(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice The stored state of `account`.
    function staker(address account) external view returns (Staker memory info) {
        StakerSlot storage s = _stakers[account];
        info = Staker({
            signingKey: s.signingKey,
            stakeWei: s.stakeWei,
            validator: s.flags & _STAKER_VALIDATOR != 0,
            unbonding: s.flags & _STAKER_UNBONDING != 0,
            jailed: s.flags & _STAKER_JAILED != 0,
            payout: s.payout,
            unbondRequestedAt: s.unbondRequestedAt,
            openDisputes: s.openDisputes
        });
    }

    /// @notice Wei `account` can withdraw with `withdrawPayments`.
    function paymentsOf(address account) external view returns (uint256) {
        return _payments[account];
    }

    /// @notice Number of accounts that ever opted in as validators of (modelId, stage) (entries of
    /// its sortition, including those now out, unbonding, jailed or moved, whose weight is 0).
    function validatorCount(uint64 modelId, uint16 stage) external view returns (uint256) {
        return _groupValidators[_group(modelId, stage)].length;
    }

    /// @notice The validator entry of (modelId, stage) at `index` (0-based, stable: entries are never moved).
    function validatorAt(uint64 modelId, uint16 stage, uint256 index) external view returns (address) {
        return _groupValidators[_group(modelId, stage)][index];
    }

    /// @notice Sum of the sortition weights of (modelId, stage): the stake of its active validators.
    function totalValidatorWeight(uint64 modelId, uint16 stage) external view returns (uint256) {
        return _sortitions[_group(modelId, stage)].total;
    }

    /// @notice `account`'s sortition weight: its stake while an active validator, else 0.
    function validatorWeight(address account) external view returns (uint256) {
        uint256 seat = _validatorSeats[account];
        return uint64(seat) == 0 ? 0 : _sortitions[_seatGroup(seat)].weights[uint64(seat)];
    }

    /// @notice The stage `account` validates (or last validated), and whether it is an active
    /// validator there now (opted in, not unbonding, not jailed, stake > 0). All zero if it never opted in.
    function validatorStage(address account) external view returns (uint64 modelId, uint16 stage, bool active) {
        uint256 seat = _validatorSeats[account];
        if (uint64(seat) == 0) return (0, 0, false);
        return (uint64(seat >> 80), uint16(seat >> 64), _sortitions[_seatGroup(seat)].weights[uint64(seat)] != 0);
    }
}
