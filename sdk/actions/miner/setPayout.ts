import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { Address } from "viem";
import type { ComputeLedgerNotRegisteredError, ComputeLedgerZeroAddressError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type SetPayoutParameters = DeploymentsParameter & AccountParameter & { payout: Address };

export type SetPayoutReturnType = WriteResult;

export type SetPayoutErrorType = ComputeLedgerNotRegisteredError | ComputeLedgerZeroAddressError | AccountRequiredError | NoDeploymentError;

/**
 * Changes where the caller's future token rewards are minted.
 *
 * @example
 * import { setPayout } from "shardholder/sdk"
 * await setPayout(walletClient, { deployments, payout: coldWallet })
 */
export async function setPayout(client: ShardholderClient, parameters: SetPayoutParameters): Promise<SetPayoutReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "setPayout",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "setPayoutAddress",
    args: [parameters.payout],
    account: parameters.account,
  });
}
