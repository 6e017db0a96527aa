// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {LedgerBase} from "./LedgerBase.sol";

/// @title Internal checks and effects shared by the ledger and its delegated validator module
/// @dev Internal only: a part compiles in just what it uses, which keeps both contracts under the
/// EIP-170 size limit.
abstract contract LedgerCore is LedgerBase, ReentrancyGuardTransient {
    function _requireChallengeWindow(ModelParams storage p, uint64 modelId, uint64 round) internal view {
        if (block.timestamp < _commitEnd(p.genesisTime, p.commitWindowSec, round) || block.timestamp >= _challengeEnd(p, round)) {
            revert ComputeLedgerOutsideChallengeWindow(modelId, round);
        }
    }

    /// @dev An active validator (of any stage) with at least `minStakeWei` staked.
    function _eligibleValidator(address account, uint256 minStakeWei) internal view returns (bool) {
        StakerSlot storage s = _stakers[account];
        return s.flags & _STAKER_VALIDATOR != 0 && _isServing(s, minStakeWei);
    }

    /// @dev Reverts unless `account` is an active validator with at least `minStakeWei` staked
    /// (`ComputeLedgerNotEligibleValidator`) of (modelId, `stage` or `altStage`)
    /// (`ComputeLedgerNotStageValidator`): validators work on one stage, whose weights they hold.
    function _requireStageValidator(address account, uint64 modelId, uint16 stage, uint16 altStage, uint256 minStakeWei)
        internal
        view
    {
        StakerSlot storage s = _stakers[account];
        if (s.flags & _STAKER_VALIDATOR == 0 || !_isServing(s, minStakeWei)) revert ComputeLedgerNotEligibleValidator();
        uint256 group = _seatGroup(_validatorSeats[account]);
        if (group != _group(modelId, stage) && group != _group(modelId, altStage)) {
            revert ComputeLedgerNotStageValidator(modelId, stage);
        }
    }

    /// @dev The leaf must belong to a stored, unslashed commitment: prefix of `itemsRoot` matches the
    /// stored one and the double-hashed StandardMerkleTree leaf is proven against the full root.
    /// Returns the commitment's stored slot.
    function _verifyItem(CommittedItem calldata item, uint32 microbatchesPerRound) internal view returns (uint256 slot) {
        slot = _verifyLeaf(item, microbatchesPerRound);
        if (_slotHas(slot, _FLAG_SLASHED)) {
            revert ComputeLedgerCommitmentSlashed();
        }
    }

    /// @dev `_verifyItem` without the slashed check: a leaf used as evidence about another commitment
    /// (a neighbour in a link proof) proves what it names whether or not its own worker was slashed.
    function _verifyLeaf(CommittedItem calldata item, uint32 microbatchesPerRound) internal view returns (uint256 slot) {
        slot = _commitments[item.modelId][item.worker][_slotKey(item.stage, item.round)];
        bytes32 digest = _commitmentDigest(item.itemsRoot, item.weightsRootBefore, item.weightsRootAfter);
        if (!_slotIsRound(slot, item.round) || !_slotPrefixMatches(slot, digest)) {
            revert ComputeLedgerUnknownCommitment();
        }
        if (item.leaf.index >= microbatchesPerRound || item.leaf.microbatch >= microbatchesPerRound) {
            revert ComputeLedgerLeafIndexOutOfRange();
        }
        bytes32 leafHash = keccak256(bytes.concat(keccak256(abi.encode(item.leaf))));
        if (!MerkleProof.verifyCalldata(item.proof, item.itemsRoot, leafHash)) revert ComputeLedgerInvalidProof();
    }

    /// @dev The `itemCount` a stored commitment slot was accepted with (its units are
    /// `itemCount * unitsPerMicrobatch`): the leaves it must hold are exactly indices `[0, itemCount)`.
    function _slotItemCount(uint64 modelId, uint16 stage, uint256 slot) internal returns (uint32) {
        return uint32(_slotUnits(slot) / _unitsPerMicrobatch(modelId, stage));
    }

    /// @dev Slashes `worker`, jails it (its sortition weight drops to 0) and voids its commitments of
    /// the round. Of the slashed wei `WINNER_SHARE_BPS` is credited to `beneficiary`, `voterShareBps`
    /// is returned for the deciding committee, the rest is returned to burn.
    /// A finalized round keeps its `totalUnits` (the reward denominator is fixed once emission is):
    /// the voided commitments just never mint, so nothing is over-minted.
    function _slash(uint64 modelId, uint64 round, address worker, address beneficiary, uint256 voterShareBps)
        internal
        returns (uint256 voterPoolWei, uint256 burnWei)
    {
        StakerSlot storage s = _stakers[worker];
        uint256 slashedWei = uint256(s.stakeWei) * SLASH_BPS / BPS;
        s.stakeWei -= uint88(slashedWei);
        s.flags |= _STAKER_JAILED;
        _syncSortition(worker);
        uint256 rewardWei = slashedWei * WINNER_SHARE_BPS / BPS;
        voterPoolWei = slashedWei * voterShareBps / BPS;
        burnWei = slashedWei - rewardWei - voterPoolWei;
        _credit(beneficiary, rewardWei);
        uint256 removedUnits = _voidRound(modelId, round, worker);
        emit WorkerSlashed(modelId, round, worker, slashedWei, rewardWei, burnWei, removedUnits);
    }

    /// @dev Flags every commitment of `worker` in the round slashed; returns the units removed (a voided
    /// commitment's units already left the round).
    function _voidRound(uint64 modelId, uint64 round, address worker) private returns (uint256 removedUnits) {
        uint16 stageCount = _models[modelId].stageCount;
        mapping(uint256 => uint256) storage ring = _commitments[modelId][worker];
        for (uint16 stage; stage < stageCount; ++stage) {
            uint256 key = _slotKey(stage, round);
            uint256 slot = ring[key];
            if (_slotIsRound(slot, round) && !_slotHas(slot, _FLAG_SLASHED)) {
                ring[key] = slot | (_FLAG_SLASHED << _FLAGS_SHIFT);
                if (!_slotHas(slot, _FLAG_VOIDED)) removedUnits += _slotUnits(slot);
            }
        }
        RoundState storage r = _rounds[modelId][round];
        if (!r.finalized) r.totalUnits -= uint96(removedUnits);
    }

    function _sendValue(address to, uint256 amountWei) internal {
        (bool ok,) = payable(to).call{value: amountWei}("");
        if (!ok) revert ComputeLedgerTransferFailed();
    }
}
