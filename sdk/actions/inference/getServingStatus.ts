import { type Address, getAddress } from "viem";
import { getBlock, readContract } from "viem/actions";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import { InferenceNotFoundError, type NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { scanEvents } from "../internal/scan.ts";
import { getInferenceRequest } from "./getInferenceRequest.ts";

/**
 * How far a fulfilled answer is verified (docs/PROTOCOL.md "Verified inference"):
 * - "challengeable": inside its challenge window, not every stage audited yet;
 * - "audited": inside the window, and a validator of every stage attested it re-executed it correctly;
 * - "disputed": a serving dispute is open;
 * - "final": the window is over with no stage proven wrong (the operators' shares are or can be released);
 * - "fraud": a stage was proven wrong: its operator was slashed and the requester refunded from the slash.
 */
export type ServingVerificationStatus = "challengeable" | "audited" | "disputed" | "final" | "fraud";

export type ServingVerification = {
  status: ServingVerificationStatus;
  /** Unix seconds until which anyone may challenge the answer. */
  challengeableUntil: bigint;
  openDisputes: number;
  /** Stages proven wrong. */
  guiltyStages: number[];
  /** Stages a validator of that stage attested (`attestServing`). */
  auditedStages: number[];
  /** What the requester can still be refunded from a fraud verdict (the fee until one refunds it; 0 if never challenged). */
  refundOwedWei: bigint;
};

export type GetServingStatusParameters = DeploymentsParameter & { requestId: bigint };

export type GetServingStatusErrorType = InferenceNotFoundError | NoDeploymentError;

/**
 * Where a fulfilled request's verification stands, by the chain's clock.
 *
 * @example
 * import { getServingStatus } from "@shardholder/sdk"
 * const { status, challengeableUntil } = await getServingStatus(client, { deployments, requestId })
 */
export async function getServingStatus(client: ShardholderClient, parameters: GetServingStatusParameters): Promise<ServingVerification> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const { requestId } = parameters;
  const { request, fulfillment } = await getInferenceRequest(client, parameters);
  if (!fulfillment) throw new InferenceNotFoundError({ requestId });
  const escrow = { address: contracts.inferenceEscrow } as const;
  return withTypedErrors(async () => {
    const [[, , openDisputes, guiltyMask, refundOwedWei], head, attestations] = await Promise.all([
      readContract(client, { ...escrow, abi: [escrowAbi.fulfilment], functionName: "fulfilment", args: [requestId] }),
      getBlock(client),
      scanEvents(client, {
        ...escrow,
        abi: [escrowAbi.ServingAudited],
        eventName: "ServingAudited",
        args: { requestId },
        range: { fromBlock: fulfillment.blockNumber, toBlock: "latest" },
      }),
    ]);
    const stageCount = fulfillment.stageOperators.length;
    const guiltyStages = stages(stageCount).filter((s) => (guiltyMask >> s) & 1);
    const auditedStages = await stagesAuditedByTheirValidators(
      client,
      contracts.computeLedger,
      request.modelId,
      attestations.map((log) => ({ stage: log.args.stage, validator: log.args.validator })),
    );
    const status: ServingVerificationStatus =
      guiltyStages.length > 0
        ? "fraud"
        : openDisputes > 0
          ? "disputed"
          : head.timestamp >= fulfillment.challengeableUntil
            ? "final"
            : auditedStages.length === stageCount
              ? "audited"
              : "challengeable";
    return { status, challengeableUntil: fulfillment.challengeableUntil, openDisputes, guiltyStages, auditedStages, refundOwedWei };
  });
}

function stages(count: number): number[] {
  return Array.from({ length: count }, (_, s) => s);
}

/** The stages with an attestation from an active validator of that very stage of the model (others count for nothing). */
async function stagesAuditedByTheirValidators(
  client: ShardholderClient,
  ledger: Address,
  modelId: bigint,
  attestations: readonly { stage: number; validator: Address }[],
): Promise<number[]> {
  const validators = [...new Set(attestations.map((a) => getAddress(a.validator)))];
  const roles = await Promise.all(
    validators.map((account) =>
      readContract(client, { abi: [ledgerAbi.validatorStage], address: ledger, functionName: "validatorStage", args: [account] }),
    ),
  );
  const stageOf = new Map(validators.map((v, i) => [v, roles[i]]));
  const audited = new Set<number>();
  for (const a of attestations) {
    const role = stageOf.get(getAddress(a.validator));
    if (role && role[0] === modelId && role[1] === a.stage && role[2]) audited.add(a.stage);
  }
  return [...audited].sort((x, y) => x - y);
}
