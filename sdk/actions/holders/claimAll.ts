import type { Address } from "viem";
import * as tokenAbi from "../../abi/items/modelToken.ts";
import * as claimerAbi from "../../abi/items/revenueClaimer.ts";
import { AccountRequiredError, type NoDeploymentError } from "../../errors/sdk.ts";
import {
  type DeploymentsParameter,
  type SentTransaction,
  sendContractWrite,
  type ShardholderClient,
  resolveDeployments,
  type WriteParameters,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { parseEventLogs } from "viem";
import { getClaimable } from "./getClaimable.ts";

export type ClaimAllParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** Models to claim from; default: every model where the sender has something claimable. */
    modelIds?: readonly bigint[] | undefined;
  };

/**
 * `transactionHash` and `receipt` are absent when there was nothing to claim (no transaction sent);
 * with `wait: false`, the hash (if a transaction was sent) and the tokens claimed from.
 */
export type ClaimAllReturnType<wait extends boolean = true> = WriteReturnType<
  Partial<WriteResult> & { totalWei: bigint; tokens: Address[] },
  wait,
  Partial<SentTransaction> & { tokens: Address[] }
>;

export type ClaimAllErrorType = AccountRequiredError | NoDeploymentError;

/**
 * Claims the sender's revenue from many models in one transaction through the RevenueClaimer,
 * paid straight to the sender. Models with nothing claimable are left out; when nothing is
 * claimable anywhere no transaction is sent.
 *
 * @example
 * import { claimAll } from "@shardholder/sdk"
 * const { totalWei } = await claimAll(walletClient, { deployments })
 */
export async function claimAll<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ClaimAllParameters<wait>,
): Promise<ClaimAllReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: "claimAll" });
  const holder = typeof account === "string" ? account : account.address;
  const { models } = await getClaimable(client, { deployments: parameters.deployments, holder, modelIds: parameters.modelIds });
  const tokens = models.filter((m) => m.claimableWei > 0n).map((m) => m.token);
  // The casts below: which shape is returned is exactly what `wait` selects, which TypeScript
  // cannot follow from the value into the generic return type.
  if (tokens.length === 0) return { totalWei: 0n, tokens: [] } as ClaimAllReturnType<wait>;
  const sent: SentTransaction | WriteResult = await sendContractWrite(
    client,
    {
      action: "claimAll",
      abi: [claimerAbi.claimAll],
      address: contracts.revenueClaimer,
      functionName: "claimAll",
      args: [tokens],
      account,
    },
    parameters,
  );
  if (!sent.receipt) return { ...sent, tokens } as ClaimAllReturnType<wait>;
  const claimed = parseEventLogs({ abi: [tokenAbi.RevenueClaimed], eventName: "RevenueClaimed", logs: sent.receipt.logs });
  return { ...sent, tokens, totalWei: claimed.reduce((sum, l) => sum + l.args.amountWei, 0n) } as ClaimAllReturnType<wait>;
}
