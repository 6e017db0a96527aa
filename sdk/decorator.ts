import type { DeploymentsSource } from "./deployments/types.ts";
import type { DeploymentsParameter, ShardholderClient, WaitParameter, WriteReturnType } from "./actions/internal/client.ts";
import { challengeChainBreak } from "./actions/miner/challengeChainBreak.ts";
import { challengeItem } from "./actions/miner/challengeItem.ts";
import { finalizeRound } from "./actions/miner/finalizeRound.ts";
import { getCommitment } from "./actions/miner/getCommitment.ts";
import { getCurrentRound } from "./actions/miner/getCurrentRound.ts";
import { getDispute } from "./actions/miner/getDispute.ts";
import { getPayments } from "./actions/miner/getPayments.ts";
import { getRound } from "./actions/miner/getRound.ts";
import { getStaker } from "./actions/miner/getStaker.ts";
import { getValidatorStage } from "./actions/validator/getValidatorStage.ts";
import { mintReward } from "./actions/miner/mintReward.ts";
import { requestUnbond } from "./actions/miner/requestUnbond.ts";
import { resolveDispute } from "./actions/miner/resolveDispute.ts";
import { setPayout } from "./actions/miner/setPayout.ts";
import { setSigningKey } from "./actions/miner/setSigningKey.ts";
import { setValidator } from "./actions/miner/setValidator.ts";
import { signRoundCommitment } from "./actions/miner/signRoundCommitment.ts";
import { stake } from "./actions/miner/stake.ts";
import { submitCommitments } from "./actions/miner/submitCommitments.ts";
import { vote } from "./actions/miner/vote.ts";
import { appeal } from "./actions/disputes/appeal.ts";
import { challengeAvailability, revealItem, slashUnavailable } from "./actions/disputes/availability.ts";
import { drawCommittee } from "./actions/disputes/drawCommittee.ts";
import { getPanel } from "./actions/disputes/getPanel.ts";
import { getAvailabilityChallenges } from "./actions/disputes/getAvailabilityChallenges.ts";
import { getDisputedItem } from "./actions/disputes/getDisputedItem.ts";
import { getDisputes } from "./actions/disputes/getDisputes.ts";
import { getSlashes } from "./actions/disputes/getSlashes.ts";
import { getAcceptedCommitments } from "./actions/miner/getAcceptedCommitments.ts";
import { getRoundFinalizations } from "./actions/miner/getRoundFinalizations.ts";
import { getVoidedCommitments } from "./actions/miner/getVoidedCommitments.ts";
import { getLedgerParameters } from "./actions/ledger/getLedgerParameters.ts";
import { getAttestations } from "./actions/validator/getAttestations.ts";
import { getValidatorRewardMints } from "./actions/validator/getValidatorRewardMints.ts";
import { getRewardMints } from "./actions/miner/getRewardMints.ts";
import { getInferenceFulfillments } from "./actions/inference/getInferenceFulfillments.ts";
import { getInferenceRequests } from "./actions/inference/getInferenceRequests.ts";
import { withdrawPayments } from "./actions/miner/withdrawPayments.ts";
import { withdrawStake } from "./actions/miner/withdrawStake.ts";
import { getModel } from "./actions/models/getModel.ts";
import { attestItems } from "./actions/validator/attestItems.ts";
import { getValidatorRound } from "./actions/validator/getValidatorRound.ts";
import { mintValidatorReward } from "./actions/validator/mintValidatorReward.ts";
import { proveDuplicate, proveMisordered, proveUnlinked } from "./actions/validator/proveUnlinked.ts";
import { proveLinkEquivocation } from "./actions/validator/proveLinkEquivocation.ts";
import { proveWeightsBreak } from "./actions/validator/proveWeightsBreak.ts";
import { sealRoundSeed } from "./actions/validator/sealRoundSeed.ts";
import { slashFalseAttestation } from "./actions/validator/slashFalseAttestation.ts";
import { announceEndpoint, withdrawEndpoint } from "./actions/inference/announceEndpoint.ts";
import { estimateInferenceFee } from "./actions/inference/estimateInferenceFee.ts";
import { getServingEndpoints } from "./actions/inference/getServingEndpoints.ts";
import { infer } from "./actions/inference/infer.ts";
import { inferStream } from "./actions/inference/inferStream.ts";
import { requestInference } from "./actions/inference/requestInference.ts";
import { getInferenceRequest } from "./actions/inference/getInferenceRequest.ts";
import { waitForInference } from "./actions/inference/waitForInference.ts";
import { refundInference } from "./actions/inference/refundInference.ts";
import { fulfillInference } from "./actions/inference/fulfillInference.ts";
import { getServingRecord } from "./actions/inference/getServingRecord.ts";
import { getServingStatus } from "./actions/inference/getServingStatus.ts";
import { attestServing, challengeServing, proveServingEquivocation, releaseInferenceFees } from "./actions/inference/servingWrites.ts";
import { withdrawEscrowBalance } from "./actions/inference/withdrawEscrowBalance.ts";
import { consentToPipeline } from "./actions/inference/consentToPipeline.ts";
import { getPipelines } from "./actions/inference/getPipelines.ts";
import { registerPipeline } from "./actions/inference/registerPipeline.ts";
import { getClaimable } from "./actions/holders/getClaimable.ts";
import { claimRevenue } from "./actions/holders/claimRevenue.ts";
import { claimAll } from "./actions/holders/claimAll.ts";
import { explainRevenue } from "./actions/holders/explainRevenue.ts";
import { listModels } from "./actions/models/listModels.ts";
import { getModelToken } from "./actions/models/getModelToken.ts";
import { registerModel } from "./actions/models/registerModel.ts";
import { announcePeer, prunePeer, withdrawPeer } from "./actions/swarm/announcePeer.ts";
import { getPeerRecord } from "./actions/swarm/getPeerRecord.ts";
import { getStageMember } from "./actions/swarm/getStageMember.ts";
import { getStageMembers } from "./actions/swarm/getStageMembers.ts";

type Action<P extends DeploymentsParameter, R> = (client: ShardholderClient, parameters: P) => Promise<R>;
/** `Omit` per member of a union (the fee overrides are one), so the members stay exclusive. */
type UnionOmit<P, K extends PropertyKey> = P extends unknown ? Omit<P, K> : never;
type Rest<P> = UnionOmit<P, "deployments">;
/** Parameters become optional when none of the remaining fields is required. */
type BoundArgs<P> = object extends Rest<P> ? [parameters?: Rest<P>] : [parameters: Rest<P>];
/**
 * A write action's method keeps its `wait` type parameter, so `wait: false` narrows the result as
 * the function does. `R` is the action's result for `wait: boolean`, the union of both shapes; the
 * hash-only one is the member whose `receipt` is `undefined`.
 */
type BoundWrite<P, R> = <wait extends boolean = true>(
  ...args: BoundArgs<UnionOmit<P, "wait"> & WaitParameter<wait>>
) => Promise<WriteReturnType<Exclude<R, { receipt?: undefined }>, wait, Extract<R, { receipt?: undefined }>>>;
type Bound<F> =
  F extends Action<infer P, infer R> ? ("wait" extends keyof P ? BoundWrite<P, R> : (...args: BoundArgs<P>) => Promise<R>) : never;

function bind<P extends DeploymentsParameter, R>(action: Action<P, R>, client: ShardholderClient, deployments: DeploymentsSource) {
  return (...args: BoundArgs<P>): Promise<R> => action(client, { ...(args[0] ?? {}), deployments } as P);
}

const actions = {
  registerModel,
  getModel,
  listModels,
  getModelToken,
  estimateInferenceFee,
  infer,
  inferStream,
  getServingEndpoints,
  announceEndpoint,
  withdrawEndpoint,
  announcePeer,
  withdrawPeer,
  prunePeer,
  getPeerRecord,
  getStageMembers,
  getStageMember,
  requestInference,
  getInferenceRequest,
  getInferenceRequests,
  waitForInference,
  refundInference,
  fulfillInference,
  releaseInferenceFees,
  challengeServing,
  proveServingEquivocation,
  attestServing,
  getServingRecord,
  getServingStatus,
  withdrawEscrowBalance,
  consentToPipeline,
  registerPipeline,
  getPipelines,
  getClaimable,
  claimRevenue,
  claimAll,
  explainRevenue,
  stake,
  requestUnbond,
  withdrawStake,
  withdrawPayments,
  setSigningKey,
  setPayout,
  setValidator,
  signRoundCommitment,
  submitCommitments,
  challengeItem,
  challengeChainBreak,
  vote,
  drawCommittee,
  appeal,
  getPanel,
  challengeAvailability,
  revealItem,
  slashUnavailable,
  resolveDispute,
  finalizeRound,
  mintReward,
  getStaker,
  getValidatorStage,
  getPayments,
  getRound,
  getCurrentRound,
  getDispute,
  getCommitment,
  getAcceptedCommitments,
  getVoidedCommitments,
  getRoundFinalizations,
  getRewardMints,
  getInferenceFulfillments,
  getDisputes,
  getDisputedItem,
  getSlashes,
  getAvailabilityChallenges,
  getLedgerParameters,
  sealRoundSeed,
  attestItems,
  mintValidatorReward,
  getValidatorRound,
  getAttestations,
  getValidatorRewardMints,
  proveWeightsBreak,
  proveUnlinked,
  proveDuplicate,
  proveMisordered,
  proveLinkEquivocation,
  slashFalseAttestation,
} as const;

/** The methods `shardholderActions` adds to a client. */
export type ShardholderActions = { [K in keyof typeof actions]: Bound<(typeof actions)[K]> };

/**
 * Decorator adding every Shardholder action to a viem client, bound to an address book
 * (one, several, or a map by chain id; the client's chain picks one).
 *
 * @example
 * import { createWalletClient, http, publicActions } from "viem"
 * import { shardholderActions } from "@shardholder/sdk"
 * const client = createWalletClient({ account, chain, transport: http(rpcUrl) })
 *   .extend(publicActions)
 *   .extend(shardholderActions({ deployments }))
 * const { requestId } = await client.requestInference({ modelId: 1n, input: "hello" })
 */
export function shardholderActions({ deployments }: { deployments: DeploymentsSource }) {
  return (client: ShardholderClient): ShardholderActions => {
    const bound = {} as Record<string, unknown>;
    for (const [name, action] of Object.entries(actions))
      bound[name] = bind(action as Action<DeploymentsParameter, unknown>, client, deployments);
    return bound as ShardholderActions;
  };
}
