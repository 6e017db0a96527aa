import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerNotUnbondingError,
  ComputeLedgerStakeAtRiskError,
  ComputeLedgerUnbondingNotElapsedError,
} from "../../errors/contractErrors.ts";
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

export type WithdrawStakeParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait>;

export type WithdrawStakeReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type WithdrawStakeErrorType =
  | ComputeLedgerNotUnbondingError
  | ComputeLedgerUnbondingNotElapsedError
  | ComputeLedgerStakeAtRiskError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Sends the caller's unbonded stake back to it once the unbonding delay has passed and no dispute against it is open.
 *
 * @example
 * import { withdrawStake } from "@shardholder/sdk"
 * await withdrawStake(walletClient, { deployments })
 */
export async function withdrawStake<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: WithdrawStakeParameters<wait>,
): Promise<WithdrawStakeReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "withdrawStake",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "withdrawStake",
      args: [],
      account: parameters.account,
    },
    parameters,
  );
}
