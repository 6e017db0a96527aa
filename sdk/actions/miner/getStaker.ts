import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import type { Address, ContractFunctionReturnType } from "viem";
export type GetStakerParameters = DeploymentsParameter & { account: Address };

export type GetStakerReturnType = ContractFunctionReturnType<typeof computeLedgerAbi, "view", "staker">;

export type GetStakerErrorType = NoDeploymentError;

/**
 * Reads a staker's record: stake, signing key, payout, validator/unbonding/jailed flags, open disputes.
 *
 * @example
 * import { getStaker } from "@shardholder/sdk"
 * const s = await getStaker(client, { deployments, account })
 */
export async function getStaker(client: ShardholderClient, parameters: GetStakerParameters): Promise<GetStakerReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(() =>
    readContract(client, { abi: computeLedgerAbi, address: contracts.computeLedger, functionName: "staker", args: [parameters.account] }),
  );
}
