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

    function _eligibleValidator(address account, uint256 minStakeWei) internal view returns (bool) {
        StakerSlot storage s = _stakers[account];
        return s.flags & _STAKER_VALIDATOR != 0 && _isServing(s, minStakeWei);
    }

    /// @dev The leaf must belong to a stored, unslashed commitment: prefix of `itemsRoot` matches the
    /// stored one and the double-hashed StandardMerkleTree leaf is proven against the full root.
    function _verifyItem(CommittedItem calldata item, uint32 microbatchesPerRound) internal view {
        uint256 slot = _commitments[item.modelId][item.worker][_slotKey(item.stage, item.round)];
        bytes32 digest = _commitmentDigest(item.itemsRoot, item.weightsRootBefore, item.weightsRootAfter);
        if (!_slotIsRound(slot, item.round) || !_slotPrefixMatches(slot, digest)) {
            revert ComputeLedgerUnknownCommitment();
        }
        if (_slotHas(slot, _FLAG_SLASHED)) {
            revert ComputeLedgerCommitmentSlashed();
        }
        if (item.leaf.index >= microbatchesPerRound) revert ComputeLedgerLeafIndexOutOfRange();
        bytes32 leafHash = keccak256(bytes.concat(keccak256(abi.encode(item.leaf))));
        if (!MerkleProof.verifyCalldata(item.proof, item.itemsRoot, leafHash)) revert ComputeLedgerInvalidProof();
    }

    /// @dev Slashes `worker`, jails it and voids its commitments of the round; returns the wei to burn.
    /// A finalized round keeps its `totalUnits` (the reward denominator is fixed once emission is):
    /// the voided commitments just never mint, so nothing is over-minted.
    function _slash(uint64 modelId, uint64 round, address worker, address beneficiary)
        internal
        returns (uint256 burnWei)
    {
        StakerSlot storage s = _stakers[worker];
        uint256 slashedWei = uint256(s.stakeWei) * SLASH_BPS / BPS;
        s.stakeWei -= uint88(slashedWei);
        s.flags |= _STAKER_JAILED;
        uint256 rewardWei = slashedWei * WINNER_SHARE_BPS / BPS;
        burnWei = slashedWei - rewardWei;
        _credit(beneficiary, rewardWei);

        uint16 stageCount = _models[modelId].stageCount;
        mapping(uint256 => uint256) storage ring = _commitments[modelId][worker];
        uint256 removedUnits;
        for (uint16 stage; stage < stageCount; ++stage) {
            uint256 key = _slotKey(stage, round);
            uint256 slot = ring[key];
            if (_slotIsRound(slot, round) && !_slotHas(slot, _FLAG_SLASHED)) {
                ring[key] = slot | (_FLAG_SLASHED << _FLAGS_SHIFT);
                removedUnits += _slotUnits(slot);
            }
        }
        RoundState storage r = _rounds[modelId][round];
        if (!r.finalized) r.totalUnits -= uint96(removedUnits);
        emit WorkerSlashed(modelId, round, worker, slashedWei, rewardWei, burnWei, removedUnits);
    }

    function _sendValue(address to, uint256 amountWei) internal {
        (bool ok,) = payable(to).call{value: amountWei}("");
        if (!ok) revert ComputeLedgerTransferFailed();
    }
}
