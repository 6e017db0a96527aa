import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNothingToWithdrawError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type WithdrawPaymentsParameters = DeploymentsParameter & AccountParameter;

export type WithdrawPaymentsReturnType = WriteResult;

export type WithdrawPaymentsErrorType = ComputeLedgerNothingToWithdrawError | AccountRequiredError | NoDeploymentError;

/**
 * Withdraws everything the ledger credited to the caller (won challenge bonds, slashing rewards).
 *
 * @example
 * import { withdrawPayments } from "shardholder/sdk"
 * await withdrawPayments(walletClient, { deployments })
 */
export async function withdrawPayments(client: ShardholderClient, parameters: WithdrawPaymentsParameters): Promise<WithdrawPaymentsReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "withdrawPayments",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "withdrawPayments",
    args: [],
    account: parameters.account,
  });
}
