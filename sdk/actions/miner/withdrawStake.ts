import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNotUnbondingError, ComputeLedgerStakeAtRiskError, ComputeLedgerUnbondingNotElapsedError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type WithdrawStakeParameters = DeploymentsParameter & AccountParameter;

export type WithdrawStakeReturnType = WriteResult;

export type WithdrawStakeErrorType = ComputeLedgerNotUnbondingError | ComputeLedgerUnbondingNotElapsedError | ComputeLedgerStakeAtRiskError | AccountRequiredError | NoDeploymentError;

/**
 * Sends the caller's unbonded stake back to it once the unbonding delay has passed and no dispute against it is open.
 *
 * @example
 * import { withdrawStake } from "shardholder/sdk"
 * await withdrawStake(walletClient, { deployments })
 */
export async function withdrawStake(client: ShardholderClient, parameters: WithdrawStakeParameters): Promise<WithdrawStakeReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "withdrawStake",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "withdrawStake",
    args: [],
    account: parameters.account,
  });
}
