import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerAlreadyFinalizedError, ComputeLedgerChallengeWindowOpenError, ComputeLedgerDisputesOpenError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";

export type FinalizeRoundParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { modelId: bigint; round: bigint };

export type FinalizeRoundReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type FinalizeRoundErrorType = ComputeLedgerChallengeWindowOpenError | ComputeLedgerAlreadyFinalizedError | ComputeLedgerDisputesOpenError | AccountRequiredError | NoDeploymentError;

/**
 * Finalizes a round after its challenge window (anyone may call it): fixes its accepted units and emission.
 *
 * @example
 * import { finalizeRound } from "@shardholder/sdk"
 * await finalizeRound(walletClient, { deployments, modelId: 1n, round: 0n })
 */
export async function finalizeRound<wait extends boolean = true>(client: ShardholderClient, parameters: FinalizeRoundParameters<wait>): Promise<FinalizeRoundReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "finalizeRound",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "finalizeRound",
    args: [parameters.modelId, parameters.round],
    account: parameters.account,
  }, parameters);
}
