import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNothingToWithdrawError, ComputeLedgerUnbondingError } from "../../errors/contractErrors.ts";
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

export type RequestUnbondParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait>;

export type RequestUnbondReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type RequestUnbondErrorType =
  ComputeLedgerNothingToWithdrawError | ComputeLedgerUnbondingError | AccountRequiredError | NoDeploymentError;

/**
 * Starts unbonding the caller's whole stake: it stops serving at once and can be withdrawn with `withdrawStake` after `UNBONDING_DELAY_SEC`.
 *
 * @example
 * import { requestUnbond } from "@shardholder/sdk"
 * await requestUnbond(walletClient, { deployments })
 */
export async function requestUnbond<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: RequestUnbondParameters<wait>,
): Promise<RequestUnbondReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "requestUnbond",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "requestUnbond",
      args: [],
      account: parameters.account,
    },
    parameters,
  );
}
