import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNothingToWithdrawError, ComputeLedgerUnbondingError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type RequestUnbondParameters = DeploymentsParameter & AccountParameter;

export type RequestUnbondReturnType = WriteResult;

export type RequestUnbondErrorType = ComputeLedgerNothingToWithdrawError | ComputeLedgerUnbondingError | AccountRequiredError | NoDeploymentError;

/**
 * Starts unbonding the caller's whole stake: it stops serving at once and can be withdrawn with `withdrawStake` after `UNBONDING_DELAY_SEC`.
 *
 * @example
 * import { requestUnbond } from "shardholder/sdk"
 * await requestUnbond(walletClient, { deployments })
 */
export async function requestUnbond(client: ShardholderClient, parameters: RequestUnbondParameters): Promise<RequestUnbondReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "requestUnbond",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "requestUnbond",
    args: [],
    account: parameters.account,
  });
}
