import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNothingToWithdrawError } from "../../errors/contractErrors.ts";
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

export type WithdrawPaymentsParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait>;

export type WithdrawPaymentsReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type WithdrawPaymentsErrorType = ComputeLedgerNothingToWithdrawError | AccountRequiredError | NoDeploymentError;

/**
 * Withdraws everything the ledger credited to the caller (won challenge bonds, slashing rewards).
 *
 * @example
 * import { withdrawPayments } from "@shardholder/sdk"
 * await withdrawPayments(walletClient, { deployments })
 */
export async function withdrawPayments<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: WithdrawPaymentsParameters<wait>,
): Promise<WithdrawPaymentsReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "withdrawPayments",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "withdrawPayments",
      args: [],
      account: parameters.account,
    },
    parameters,
  );
}
