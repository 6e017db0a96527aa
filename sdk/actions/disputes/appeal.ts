import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerAppealClosedError,
  ComputeLedgerAppealSameVerdictError,
  ComputeLedgerDisputeNotOpenError,
  ComputeLedgerNoAppealLeftError,
  ComputeLedgerVotingNotOverError,
  ComputeLedgerWrongBondError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  withTypedErrors,
  type WriteResult,
} from "../internal/client.ts";

export type AppealParameters = DeploymentsParameter & AccountParameter & { disputeId: bigint; /** The verdict asked for. */ fraud: boolean };

export type AppealReturnType = WriteResult & { bondWei: bigint };

export type AppealErrorType =
  | ComputeLedgerDisputeNotOpenError
  | ComputeLedgerNoAppealLeftError
  | ComputeLedgerVotingNotOverError
  | ComputeLedgerAppealClosedError
  | ComputeLedgerAppealSameVerdictError
  | ComputeLedgerWrongBondError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Appeals a dispute's tentative verdict to a larger committee, bonding `appealBondWei` (read from
 * the ledger). The bond comes back if the final verdict is `fraud` as asked (or the dispute is
 * dismissed); otherwise it pays the coherent voters and is burned.
 *
 * @example
 * import { appeal } from "shardholder/sdk"
 * await appeal(walletClient, { deployments, disputeId: 1n, fraud: false })
 */
export async function appeal(client: ShardholderClient, parameters: AppealParameters): Promise<AppealReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const bondWei = await withTypedErrors(() =>
    readContract(client, { abi: computeLedgerAbi, address: contracts.computeLedger, functionName: "appealBondWei", args: [parameters.disputeId] }),
  );
  const result = await sendContractWrite(client, {
    action: "appeal",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "appeal",
    args: [parameters.disputeId, parameters.fraud],
    value: bondWei,
    account: parameters.account,
  });
  return { ...result, bondWei };
}
