import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerAlreadyFinalizedError, ComputeLedgerChallengeWindowOpenError, ComputeLedgerDisputesOpenError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type FinalizeRoundParameters = DeploymentsParameter & AccountParameter & { modelId: bigint; round: bigint };

export type FinalizeRoundReturnType = WriteResult;

export type FinalizeRoundErrorType = ComputeLedgerChallengeWindowOpenError | ComputeLedgerAlreadyFinalizedError | ComputeLedgerDisputesOpenError | AccountRequiredError | NoDeploymentError;

/**
 * Finalizes a round after its challenge window (anyone may call it): fixes its accepted units and emission.
 *
 * @example
 * import { finalizeRound } from "shardholder/sdk"
 * await finalizeRound(walletClient, { deployments, modelId: 1n, round: 0n })
 */
export async function finalizeRound(client: ShardholderClient, parameters: FinalizeRoundParameters): Promise<FinalizeRoundReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "finalizeRound",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "finalizeRound",
    args: [parameters.modelId, parameters.round],
    account: parameters.account,
  });
}
