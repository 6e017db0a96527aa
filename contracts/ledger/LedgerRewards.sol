// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {EmissionMath} from "./EmissionMath.sol";
import {LedgerCommitments} from "./LedgerCommitments.sol";

/// @title Round finalization and pro rata token rewards
abstract contract LedgerRewards is LedgerCommitments {
    /// @notice Fixes the round's accepted units and its emission once its challenge window is over.
    /// @dev Defends against: premature minting (nothing can be minted before this), reopening (once
    /// only), finalizing around a pending verdict (reverts while any dispute of the round is open), and
    /// over-emission: the emission `tokensPerRound * (1 - decayBps/1e4)^round` is clamped to what the
    /// cap still allows after every earlier finalized round, so the cap holds whatever the order of
    /// finalization. A round with no units emits nothing (nothing is reserved for nobody).
    /// `validatorEmissionBps` of the emission is set aside for the round's attesting validators, only
    /// if anything was attested (attestations close with the challenge window, before this).
    /// Callable by anyone.
    function finalizeRound(uint64 modelId, uint64 round) external {
        ModelParams storage p = _model(modelId);
        if (block.timestamp < _challengeEnd(p, round)) revert ComputeLedgerChallengeWindowOpen(modelId, round);
        RoundState storage r = _rounds[modelId][round];
        if (r.finalized) revert ComputeLedgerAlreadyFinalized(modelId, round);
        if (r.openDisputes != 0) revert ComputeLedgerDisputesOpen(modelId, round, r.openDisputes);
        uint256 emission;
        if (r.totalUnits != 0) {
            IModelRegistry.Emission memory e = _registry.model(modelId).emission;
            emission = EmissionMath.emissionAt(e.tokensPerRound, e.decayBps, round);
            uint256 allocated = _emissionAllocated[modelId];
            uint256 remaining = e.capTokens > allocated ? e.capTokens - allocated : 0;
            if (emission > remaining) emission = remaining;
            _emissionAllocated[modelId] = allocated + emission;
        }
        r.finalized = true;
        r.emissionTokens = uint128(emission);
        if (r.attestedUnits != 0) r.validatorTokens = uint120(emission * p.validatorEmissionBps / BPS);
        emit RoundFinalized(modelId, round, r.totalUnits, emission);
    }

    /// @notice Mints `worker`'s share of a finalized round: `(emission - validatorTokens) * units / totalUnits`, of which
    /// `designerEmissionBps` go to the model's designer and the rest to the worker's payout address.
    /// @dev Defends against: double rewards (each commitment is flagged rewarded before the mint
    /// calls, so a second call, even reentrant through the token, finds nothing), rewards for slashed
    /// work (slashed and voided commitments are skipped; their units already left `totalUnits`), and redirection
    /// (tokens only go to the worker's registered payout address, so anyone may call this).
    /// The loop runs over the model's stages, a bound fixed at registration.
    function mintReward(uint64 modelId, uint64 round, address worker)
        external
        returns (uint256 workerTokens, uint256 designerTokens)
    {
        RoundState storage r = _rounds[modelId][round];
        if (!r.finalized) revert ComputeLedgerNotFinalized(modelId, round);
        ModelParams storage p = _model(modelId);
        uint256 stageCount = p.stageCount;

        mapping(uint256 => uint256) storage ring = _commitments[modelId][worker];
        uint256 units;
        for (uint16 stage; stage < stageCount; ++stage) {
            uint256 key = _slotKey(stage, round);
            uint256 slot = ring[key];
            if (_slotIsRound(slot, round) && !_slotHas(slot, _FLAG_SLASHED | _FLAG_REWARDED | _FLAG_VOIDED)) {
                ring[key] = slot | (_FLAG_REWARDED << _FLAGS_SHIFT);
                units += _slotUnits(slot);
            }
        }
        if (units == 0) revert ComputeLedgerNothingToMint(modelId, round, worker);

        uint256 share = Math.mulDiv(r.emissionTokens - r.validatorTokens, units, r.totalUnits);
        designerTokens = share * p.designerEmissionBps / BPS;
        workerTokens = share - designerTokens;
        r.mintedTokens += uint128(share);
        address payout = _stakers[worker].payout;
        emit RewardMinted(modelId, round, worker, payout, workerTokens, designerTokens, units);

        IModelToken token = IModelToken(p.token);
        if (workerTokens != 0) token.mint(payout, workerTokens);
        if (designerTokens != 0) token.mint(p.designer, designerTokens);
    }

    // ---------------------------------------------------------------- views

    /// @notice The accounting of (model, round).
    function roundState(uint64 modelId, uint64 round) external view returns (RoundState memory) {
        return _rounds[modelId][round];
    }

    /// @notice Tokens reserved by all finalized rounds of `modelId` (<= the cap).
    function emissionAllocated(uint64 modelId) external view returns (uint256) {
        return _emissionAllocated[modelId];
    }

    /// @notice The round of `modelId` whose commit window is open now (reverts before genesis).
    function currentRound(uint64 modelId) external view returns (uint64) {
        ModelParams memory p = _viewModel(modelId);
        if (block.timestamp < p.genesisTime) revert ComputeLedgerOutsideCommitWindow(modelId, 0);
        return uint64((block.timestamp - p.genesisTime) / p.commitWindowSec);
    }
}
