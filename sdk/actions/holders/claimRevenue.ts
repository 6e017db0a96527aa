import type { Address } from "viem";
import { readContract } from "viem/actions";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import * as tokenAbi from "../../abi/items/modelToken.ts";
import type { ModelTokenTransferFailedError, ModelTokenZeroRecipientError } from "../../errors/contractErrors.ts";
import { AccountRequiredError, type NoDeploymentError } from "../../errors/sdk.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  withTypedErrors,
  type WriteParameters,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { parseEventLogs } from "viem";

export type ClaimRevenueParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { modelId: bigint; to?: Address | undefined };

export type ClaimRevenueReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { amountWei: bigint }, wait>;

export type ClaimRevenueErrorType = ModelTokenZeroRecipientError | ModelTokenTransferFailedError | AccountRequiredError | NoDeploymentError;

/**
 * Claims the sender's revenue of one model to `to` (default: the sender). Claiming nothing is
 * not an error: `amountWei` is then 0.
 *
 * @example
 * import { claimRevenue } from "@shardholder/sdk"
 * const { amountWei } = await claimRevenue(walletClient, { deployments, modelId: 1n })
 */
export async function claimRevenue<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ClaimRevenueParameters<wait>,
): Promise<ClaimRevenueReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: "claimRevenue" });
  const self = typeof account === "string" ? account : account.address;
  const to = parameters.to ?? self;
  const token = await withTypedErrors(() =>
    readContract(client, {
      abi: [registryAbi.tokenOf],
      address: contracts.modelRegistry,
      functionName: "tokenOf",
      args: [parameters.modelId],
    }),
  );
  // Claiming to oneself takes the argument-free `claim()`: 368 gas of calldata less.
  const toSelf = to.toLowerCase() === self.toLowerCase();
  const sent = toSelf
    ? await sendContractWrite(
        client,
        { action: "claimRevenue", abi: [tokenAbi.claim, tokenAbi.claim_1], address: token, functionName: "claim", args: [], account },
        parameters,
      )
    : await sendContractWrite(
        client,
        { action: "claimRevenue", abi: [tokenAbi.claim, tokenAbi.claim_1], address: token, functionName: "claim", args: [to], account },
        parameters,
      );
  return decodeWrite(sent, (result) => {
    const claimed = parseEventLogs({ abi: [tokenAbi.RevenueClaimed], eventName: "RevenueClaimed", logs: result.receipt.logs });
    return { ...result, amountWei: claimed.reduce((sum, l) => sum + l.args.amountWei, 0n) };
  });
}
