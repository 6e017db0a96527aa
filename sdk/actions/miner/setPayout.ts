import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { Address } from "viem";
import type { ComputeLedgerNotRegisteredError, ComputeLedgerZeroAddressError } from "../../errors/contractErrors.ts";
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

export type SetPayoutParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { payout: Address };

export type SetPayoutReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type SetPayoutErrorType = ComputeLedgerNotRegisteredError | ComputeLedgerZeroAddressError | AccountRequiredError | NoDeploymentError;

/**
 * Changes where the caller's future token rewards are minted.
 *
 * @example
 * import { setPayout } from "@shardholder/sdk"
 * await setPayout(walletClient, { deployments, payout: coldWallet })
 */
export async function setPayout<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: SetPayoutParameters<wait>,
): Promise<SetPayoutReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "setPayout",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "setPayoutAddress",
      args: [parameters.payout],
      account: parameters.account,
    },
    parameters,
  );
}
