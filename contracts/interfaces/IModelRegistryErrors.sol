// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Custom errors of the model registry: one per rejected condition
interface IModelRegistryErrors {
    error ModelRegistryZeroAddress();
    /// @notice Only the deployer may bind the ledger.
    error ModelRegistryUnauthorized(address caller);
    error ModelRegistryLedgerAlreadyBound(address ledger);
    error ModelRegistryEscrowAlreadyBound(address escrow);
    error ModelRegistryLedgerNotBound();
    error ModelRegistryEmptyName();
    error ModelRegistryEmptySymbol();
    error ModelRegistryZeroSpecHash();
    /// @notice `initialWeightsRoots.length` (the stage count) is 0 or above `MAX_STAGES`.
    error ModelRegistryInvalidStageCount(uint256 stageCount);
    /// @notice `unitsPerMicrobatch` has a different length than `initialWeightsRoots`.
    error ModelRegistryStageLengthMismatch(uint256 stageCount, uint256 unitsLength);
    error ModelRegistryZeroUnits(uint16 stage);
    error ModelRegistryZeroWeightsRoot(uint16 stage);
    error ModelRegistryZeroMicrobatches();
    error ModelRegistryProtocolFeeTooHigh(uint16 protocolFeeBps);
    error ModelRegistryFeeSplitTooHigh(uint16 protocolFeeBps, uint16 operatorFeeBps);
    error ModelRegistryDesignerEmissionTooHigh(uint16 designerEmissionBps);
    error ModelRegistryValidatorEmissionTooHigh(uint16 validatorEmissionBps);
    error ModelRegistryDecayTooHigh(uint16 decayBps);
    error ModelRegistryZeroTokensPerRound();
    /// @notice The cap is below `tokensPerRound` or above `type(uint96).max`.
    error ModelRegistryInvalidCap(uint128 capTokens, uint128 tokensPerRound);
    error ModelRegistryZeroCommitWindow();
    error ModelRegistryZeroChallengeWindow();
    error ModelRegistryZeroVoteWindow();
    /// @notice `commitWindowSec + challengeWindowSec + DISPUTE_WINDOWS * voteWindowSec` exceeds
    /// `COMMITMENT_RING_ROUNDS * commitWindowSec`: the ledger would reuse a round's commitment slot before
    /// the round can settle.
    error ModelRegistrySettlementOutlastsRing(uint256 settlementSec, uint256 ringSec);
    /// @notice `commitWindowSec + challengeWindowSec + DISPUTE_WINDOWS * voteWindowSec` exceeds the ledger's
    /// unbonding delay: a worker could withdraw its stake before a dispute of its work is decided.
    error ModelRegistrySettlementOutlastsUnbonding(uint256 settlementSec, uint256 unbondingSec);
    /// @notice The emission schedule can never mint `distributionSupplyTokens` (`cap >> 20`), the supply the
    /// token needs before it distributes revenue: holder revenue would stay locked. `reachableTokens` is
    /// `reachableEmissionLowerBound` of the schedule.
    error ModelRegistryCapUnreachable(uint128 capTokens, uint256 distributionSupplyTokens, uint256 reachableTokens);
    error ModelRegistryZeroMinRequestFee();
    error ModelRegistryZeroWorkerStake();
    error ModelRegistryZeroValidatorStake();
    error ModelRegistryUnknownModel(uint64 modelId);
    error ModelRegistryBadStage(uint64 modelId, uint16 stage);
    error ModelRegistryNotDesigner(uint64 modelId, address caller);
}
