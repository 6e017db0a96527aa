// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Custom errors of the compute ledger
interface IComputeLedgerErrors {
    // staking
    error ComputeLedgerZeroAddress();
    error ComputeLedgerModuleMismatch();
    error ComputeLedgerNotRegistered();
    error ComputeLedgerStakeOverflow();
    error ComputeLedgerUnbonding();
    error ComputeLedgerNotUnbonding();
    error ComputeLedgerJailed();
    error ComputeLedgerUnbondingNotElapsed(uint256 withdrawableAt);
    error ComputeLedgerStakeAtRisk();
    error ComputeLedgerValidatorUnchanged();
    /// @notice The caller validates another stage (opt out of it first): a validator holds one stage at a time.
    error ComputeLedgerValidatorOfAnotherStage(uint64 modelId, uint16 stage);
    /// @notice The caller is an active validator, but not of this (model, stage): it may audit,
    /// attest and challenge only the stage whose weights it holds.
    error ComputeLedgerNotStageValidator(uint64 modelId, uint16 stage);
    error ComputeLedgerNothingToWithdraw();
    error ComputeLedgerTransferFailed();

    // commitments
    error ComputeLedgerLengthMismatch(uint256 commitments, uint256 signatures);
    error ComputeLedgerUnknownModel(uint64 modelId);
    error ComputeLedgerModelWindowsTooLong(uint64 modelId, uint256 windowsSec);
    error ComputeLedgerBadStage(uint16 stage, uint16 stageCount);
    error ComputeLedgerBadItemCount(uint32 itemCount, uint32 maxItems);
    error ComputeLedgerOutsideCommitWindow(uint64 modelId, uint64 round);
    error ComputeLedgerNotServing(uint64 modelId, address worker);
    error ComputeLedgerInvalidSignature(uint256 index);
    error ComputeLedgerWrongWeightsRoot(bytes32 expected, bytes32 got);
    error ComputeLedgerAlreadyCommitted(uint64 modelId, uint64 round, uint16 stage, address worker);
    error ComputeLedgerPreviousCommitmentUnsettled(uint64 modelId, uint16 stage, address worker, uint64 round);
    error ComputeLedgerUnitsOverflow();

    // challenges and disputes
    error ComputeLedgerOutsideChallengeWindow(uint64 modelId, uint64 round);
    error ComputeLedgerNotEligibleValidator();
    /// @notice Serving disputes and slashes come from the registry's bound inference escrow only.
    error ComputeLedgerNotEscrow(address caller);
    error ComputeLedgerWrongBond(uint256 expectedWei, uint256 gotWei);
    error ComputeLedgerUnknownCommitment();
    error ComputeLedgerCommitmentSlashed();
    error ComputeLedgerInvalidProof();
    error ComputeLedgerLeafIndexOutOfRange();
    error ComputeLedgerNotAChainBreak();
    error ComputeLedgerDisputeNotOpen();
    error ComputeLedgerNotCommitteeMember();
    error ComputeLedgerAlreadyVoted();
    error ComputeLedgerVoteWindowClosed();
    error ComputeLedgerVotingNotOver();
    error ComputeLedgerItemAlreadyDisputed(uint256 disputeId);
    error ComputeLedgerNotAWeightsBreak();
    /// @notice A chain break may only pair two commitments that name each other as neighbours.
    error ComputeLedgerNotLinked(address upstreamWorker, address downstreamWorker);
    /// @notice `proveUnlinked`: the named neighbour names the proven commitment back, or is not linked to the given partner.
    error ComputeLedgerNotUnlinked();
    /// @notice `proveDuplicate`: the leaves differ, the original's upstream link is not confirmed, or the copy's is.
    error ComputeLedgerNotADuplicate();
    /// @notice `proveMisordered`: the two leaves are not two different leaves of one commitment out of slot order.
    error ComputeLedgerNotMisordered();
    error ComputeLedgerCommitmentVoided();
    /// @notice `proveLinkEquivocation`: the receipt does not list the leaf's microbatch, is not about the
    /// leaf's worker at its stage, or the leaf names the receipt's other end after all.
    error ComputeLedgerNotAnEquivocation();
    /// @notice `proveLinkEquivocation`: the receipt is not signed by a key the accused held during the round.
    error ComputeLedgerInvalidReceiptSignature();
    /// @notice `proveLinkEquivocation`: the beneficiary leaf is not the accused's named partner's leaf of
    /// the microbatch naming the accused back, or more than one was given.
    error ComputeLedgerNotABeneficiary();
    error ComputeLedgerDrawNotReady(uint256 disputeId, uint256 drawBlock);
    error ComputeLedgerCommitteeAlreadyDrawn(uint256 disputeId);
    error ComputeLedgerCommitteeNotDrawn(uint256 disputeId);
    error ComputeLedgerNoAppealLeft(uint256 disputeId);
    error ComputeLedgerAppealClosed(uint256 disputeId);
    error ComputeLedgerAppealSameVerdict(uint256 disputeId);
    error ComputeLedgerAppealWindowOpen(uint256 disputeId);

    // data availability
    error ComputeLedgerAvailabilityAlreadyChallenged(uint256 challengeId);
    error ComputeLedgerAvailabilityNotOpen(uint256 challengeId);
    error ComputeLedgerResponseWindowClosed(uint256 challengeId);
    error ComputeLedgerResponseWindowOpen(uint256 challengeId);
    error ComputeLedgerRevealMismatch(uint256 challengeId);

    // attestations
    error ComputeLedgerBadAttestBatch(uint256 items, uint256 draws);
    error ComputeLedgerMixedRounds(uint256 index);
    error ComputeLedgerNotSampled(uint256 index);
    error ComputeLedgerAlreadyAttested(uint256 index);
    error ComputeLedgerNoFraudProven(uint256 disputeId);
    error ComputeLedgerNotAttested(uint256 disputeId, address validator);
    error ComputeLedgerSeedNotSealed(uint64 modelId, uint64 round);

    // rounds and rewards
    error ComputeLedgerChallengeWindowOpen(uint64 modelId, uint64 round);
    error ComputeLedgerDisputesOpen(uint64 modelId, uint64 round, uint32 openDisputes);
    error ComputeLedgerAlreadyFinalized(uint64 modelId, uint64 round);
    error ComputeLedgerNotFinalized(uint64 modelId, uint64 round);
    error ComputeLedgerNothingToMint(uint64 modelId, uint64 round, address worker);
}
