import type { Hex } from "viem";
import { readContract } from "viem/actions";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type {
  InferenceEscrowBadStageError,
  InferenceEscrowChallengeWindowClosedError,
  InferenceEscrowChallengeWindowOpenError,
  InferenceEscrowFulfilmentMismatchError,
  InferenceEscrowInvalidFrameSignatureError,
  InferenceEscrowInvalidOutputProofError,
  InferenceEscrowNotAnEquivocationError,
  InferenceEscrowServingAlreadyProvenError,
  InferenceEscrowServingDisputeOpenError,
} from "../../errors/contractErrors.ts";
import {
  type AccountRequiredError,
  InferenceNotFoundError,
  type NoDeploymentError,
  type ServingCommitmentsUnreadableError,
} from "../../errors/sdk.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  withTypedErrors,
  type WriteParameters,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";
import { getInferenceRequest } from "./getInferenceRequest.ts";
import { getServingRecord, type ServingRecord } from "./getServingRecord.ts";

// The writes of verified inference (docs/PROTOCOL.md "Verified inference"). Each reads the request's
// fields and its stages' commitments back from the chain (`getServingRecord`), so callers pass ids only.

export type ServingWriteParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { requestId: bigint };

type RecordErrors = InferenceNotFoundError | ServingCommitmentsUnreadableError | AccountRequiredError | NoDeploymentError;

export type ReleaseInferenceFeesReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { perStageWei: bigint; forfeitedWei: bigint },
  wait
>;

export type ReleaseInferenceFeesErrorType =
  InferenceEscrowChallengeWindowOpenError | InferenceEscrowServingDisputeOpenError | InferenceEscrowFulfilmentMismatchError | RecordErrors;

/**
 * Pays out a fulfilled request's operator shares once its challenge window is over and no serving
 * dispute is open (anyone may send it; the shares only go to the pipeline's operators, minus any stage
 * proven wrong). Operators then `withdrawEscrowBalance`.
 *
 * @example
 * import { releaseInferenceFees } from "@shardholder/sdk"
 * const { perStageWei } = await releaseInferenceFees(walletClient, { deployments, requestId })
 */
export async function releaseInferenceFees<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ServingWriteParameters<wait>,
): Promise<ReleaseInferenceFeesReturnType<wait>> {
  // The release needs the fulfilment's event only (its serving root), not the commitments in its calldata.
  const { request, fulfillment } = await getInferenceRequest(client, parameters);
  if (!fulfillment) throw new InferenceNotFoundError({ requestId: parameters.requestId });
  const escrow = (await resolveDeployments(client, parameters.deployments)).contracts.inferenceEscrow;
  const sent = await sendContractWrite(
    client,
    {
      action: "releaseInferenceFees",
      abi: [escrowAbi.release],
      address: escrow,
      functionName: "release",
      args: [parameters.requestId, request, fulfillment.outputHash, fulfillment.servingRoot, fulfillment.stageOperators],
      account: parameters.account,
      // The window's end is a timestamp: the next block may be past it while the latest is not.
      simulateOn: "pending",
    },
    parameters,
  );
  return decodeWrite(sent, (mined) => {
    const { args } = receiptEvent(mined, { abi: [escrowAbi.ServingFeesReleased], address: escrow, eventName: "ServingFeesReleased" });
    return { ...mined, perStageWei: args.perStageWei, forfeitedWei: args.forfeitedWei };
  });
}

export type ChallengeServingParameters<wait extends boolean = true> = ServingWriteParameters<wait> & {
  /** The stage whose output is challenged; its validators' committee judges it. */
  stage: number;
};

export type ChallengeServingReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { disputeId: bigint; bondWei: bigint },
  wait
>;

export type ChallengeServingErrorType =
  | InferenceEscrowChallengeWindowClosedError
  | InferenceEscrowBadStageError
  | InferenceEscrowServingAlreadyProvenError
  | InferenceEscrowFulfilmentMismatchError
  | RecordErrors;

/**
 * Challenges what stage `stage` served for a fulfilled request, within its challenge window, bonding
 * the ledger's challenge bond: a committee of that stage's validators re-executes it and votes
 * (`drawCommittee`, `vote`, `resolveDispute` as for training). A fraud verdict slashes the operator and
 * refunds the requester from the slash; an honest one costs the challenger half its bond.
 *
 * @example
 * import { challengeServing } from "@shardholder/sdk"
 * const { disputeId } = await challengeServing(walletClient, { deployments, requestId, stage: 1 })
 */
export async function challengeServing<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ChallengeServingParameters<wait>,
): Promise<ChallengeServingReturnType<wait>> {
  const record = await getServingRecord(client, parameters);
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const bondWei = await withTypedErrors(() =>
    readContract(client, {
      abi: [ledgerAbi.challengeBondWei],
      address: contracts.computeLedger,
      functionName: "challengeBondWei",
      args: [record.request.modelId],
    }),
  );
  const sent = await sendContractWrite(
    client,
    {
      action: "challengeServing",
      abi: [escrowAbi.challengeServing],
      address: contracts.inferenceEscrow,
      functionName: "challengeServing",
      args: [...recordArgs(record), parameters.stage],
      value: bondWei,
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (mined) => {
    const { args } = receiptEvent(mined, {
      abi: [escrowAbi.ServingChallenged],
      address: contracts.inferenceEscrow,
      eventName: "ServingChallenged",
    });
    return { ...mined, disputeId: args.disputeId, bondWei };
  });
}

/** A stage's signed frame at `position` whose payload hash differs from its committed output there. */
export type ServingEquivocationEvidence = {
  stage: number;
  position: number;
  /** The committed leaf's output hash and its proof against the stage's `outputsRoot` (`servingOutputsTree`). */
  committedHash: Hex;
  proof: readonly Hex[];
  /** What the operator signed (`ServingFrame.payloadHash`) and its signature (`signServingFrame`). */
  signedHash: Hex;
  signature: Hex;
};

export type ProveServingEquivocationParameters<wait extends boolean = true> = ServingWriteParameters<wait> & {
  evidence: ServingEquivocationEvidence;
};

export type ProveServingEquivocationErrorType =
  | InferenceEscrowNotAnEquivocationError
  | InferenceEscrowInvalidFrameSignatureError
  | InferenceEscrowInvalidOutputProofError
  | InferenceEscrowChallengeWindowClosedError
  | InferenceEscrowServingAlreadyProvenError
  | InferenceEscrowFulfilmentMismatchError
  | RecordErrors;

/**
 * Proves that a stage's operator signed one frame and committed another at the same position: the
 * ledger slashes it at once (no committee), the requester is refunded from the slash and the prover
 * gets the winner's share of the rest.
 *
 * @example
 * import { proveServingEquivocation } from "@shardholder/sdk"
 * await proveServingEquivocation(walletClient, { deployments, requestId, evidence })
 */
export async function proveServingEquivocation<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ProveServingEquivocationParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const record = await getServingRecord(client, parameters);
  const escrow = (await resolveDeployments(client, parameters.deployments)).contracts.inferenceEscrow;
  const { evidence } = parameters;
  return sendContractWrite(
    client,
    {
      action: "proveServingEquivocation",
      abi: [escrowAbi.proveServingEquivocation],
      address: escrow,
      functionName: "proveServingEquivocation",
      args: [...recordArgs(record), { ...evidence, proof: [...evidence.proof] }],
      account: parameters.account,
    },
    parameters,
  );
}

export type AttestServingParameters<wait extends boolean = true> = ServingWriteParameters<wait> & { stage: number };

/**
 * A validator's word that it re-executed stage `stage` of a fulfilled request and found it correct
 * (counted by `getServingStatus` only from validators of that stage).
 *
 * @example
 * import { attestServing } from "@shardholder/sdk"
 * await attestServing(validatorWallet, { deployments, requestId, stage: 0 })
 */
export async function attestServing<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: AttestServingParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "attestServing",
      abi: [escrowAbi.attestServing],
      address: contracts.inferenceEscrow,
      functionName: "attestServing",
      args: [parameters.requestId, parameters.stage],
      account: parameters.account,
    },
    parameters,
  );
}

function recordArgs(record: ServingRecord) {
  const { requestId, request, fulfillment, commitments, stageOperators } = record;
  return [requestId, request, fulfillment.outputHash, commitments.map((c) => ({ ...c })), stageOperators] as const;
}
