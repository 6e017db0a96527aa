/**
 * `@shardholder/sdk`: typed viem actions over the Shardholder contracts, the protocol's hashing,
 * Merkle and EIP-712 helpers, typed errors and the address book. Browser-safe: the Node-only
 * `loadDeployments` lives in `@shardholder/sdk/node` (`./node.ts`).
 */
export * from "./abi/index.ts";
export * from "./errors/index.ts";
export * from "./errors/events.ts";
export * from "./protocol/index.ts";
export * from "./deployments/types.ts";
export * from "./deployments/parse.ts";
export * from "./deployments/verify.ts";
export * from "./holders/revenueReplay.ts";
export * from "./decorator.ts";
export type {
  AccountParameter,
  DeploymentsParameter,
  SentTransaction,
  ShardholderClient,
  TransactionOverrides,
  WaitParameter,
  WriteParameters,
  WriteResult,
  WriteReturnType,
} from "./actions/internal/client.ts";
export type { BlockRangeParameters, EventLocation } from "./actions/internal/scan.ts";
export * from "./actions/ledger/getLedgerParameters.ts";
export * from "./actions/models/getModel.ts";
export * from "./actions/models/getModelToken.ts";
export * from "./actions/models/listModels.ts";
export * from "./actions/models/registerModel.ts";
export * from "./actions/inference/announceEndpoint.ts";
export * from "./actions/inference/consentToPipeline.ts";
export * from "./actions/inference/estimateInferenceFee.ts";
export * from "./actions/inference/fulfillInference.ts";
export * from "./actions/inference/getServingRecord.ts";
export * from "./actions/inference/getServingStatus.ts";
export * from "./actions/inference/servingWrites.ts";
export * from "./actions/inference/getInferenceRequest.ts";
export * from "./actions/inference/getInferenceFulfillments.ts";
export * from "./actions/inference/getInferenceRequests.ts";
export * from "./actions/inference/getPipelines.ts";
export * from "./actions/inference/getServingEndpoints.ts";
export * from "./actions/inference/infer.ts";
export * from "./actions/inference/inferStream.ts";
export * from "./actions/inference/registerPipeline.ts";
export * from "./actions/inference/refundInference.ts";
export * from "./actions/inference/requestInference.ts";
export * from "./actions/inference/waitForInference.ts";
export * from "./actions/inference/withdrawEscrowBalance.ts";
export * from "./actions/swarm/announcePeer.ts";
export * from "./actions/swarm/getPeerRecord.ts";
export * from "./actions/swarm/getStageMembers.ts";
export * from "./actions/swarm/getStageMember.ts";
export * from "./actions/holders/claimAll.ts";
export * from "./actions/holders/claimRevenue.ts";
export * from "./actions/holders/explainRevenue.ts";
export * from "./actions/holders/getClaimable.ts";
export * from "./actions/miner/challengeChainBreak.ts";
export * from "./actions/miner/challengeItem.ts";
export * from "./actions/miner/finalizeRound.ts";
export * from "./actions/miner/getAcceptedCommitments.ts";
export * from "./actions/miner/getCommitment.ts";
export * from "./actions/miner/getCurrentRound.ts";
export * from "./actions/miner/getDispute.ts";
export * from "./actions/miner/getPayments.ts";
export * from "./actions/miner/getRound.ts";
export * from "./actions/miner/getRewardMints.ts";
export * from "./actions/miner/getRoundFinalizations.ts";
export * from "./actions/miner/getStaker.ts";
export * from "./actions/validator/getValidatorStage.ts";
export * from "./actions/miner/getVoidedCommitments.ts";
export * from "./actions/miner/mintReward.ts";
export * from "./actions/miner/requestUnbond.ts";
export * from "./actions/miner/resolveDispute.ts";
export * from "./actions/miner/setPayout.ts";
export * from "./actions/miner/setSigningKey.ts";
export * from "./actions/miner/setValidator.ts";
export * from "./actions/miner/signRoundCommitment.ts";
export * from "./actions/miner/stake.ts";
export * from "./actions/miner/submitCommitments.ts";
export * from "./actions/miner/vote.ts";
export * from "./actions/disputes/appeal.ts";
export * from "./actions/disputes/availability.ts";
export * from "./actions/disputes/drawCommittee.ts";
export * from "./actions/disputes/getAvailabilityChallenges.ts";
export * from "./actions/disputes/getDisputedItem.ts";
export * from "./actions/disputes/getDisputes.ts";
export * from "./actions/disputes/getPanel.ts";
export * from "./actions/disputes/getSlashes.ts";
export * from "./actions/miner/withdrawPayments.ts";
export * from "./actions/miner/withdrawStake.ts";
export * from "./actions/validator/attestItems.ts";
export * from "./actions/validator/getAttestations.ts";
export * from "./actions/validator/getValidatorRewardMints.ts";
export * from "./actions/validator/getValidatorRound.ts";
export * from "./actions/validator/ledgerItem.ts";
export * from "./actions/validator/mintValidatorReward.ts";
export * from "./actions/validator/proveWeightsBreak.ts";
export * from "./actions/validator/proveUnlinked.ts";
export * from "./actions/validator/proveLinkEquivocation.ts";
export * from "./actions/validator/sample.ts";
export * from "./actions/validator/sealRoundSeed.ts";
export * from "./actions/validator/slashFalseAttestation.ts";
