import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import type { Address } from "viem";
export type GetPaymentsParameters = DeploymentsParameter & { account: Address };

export type GetPaymentsReturnType = bigint;

export type GetPaymentsErrorType = NoDeploymentError;

/**
 * Wei credited to an account by the ledger (won bonds, slashing rewards), withdrawable with `withdrawPayments`.
 *
 * @example
 * import { getPayments } from "@shardholder/sdk"
 * const wei = await getPayments(client, { deployments, account })
 */
export async function getPayments(client: ShardholderClient, parameters: GetPaymentsParameters): Promise<GetPaymentsReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "paymentsOf",
      args: [parameters.account],
    }),
  );
}
