import type { Address } from "viem";
import { modelTokenAbi } from "../../abi/modelToken.ts";
import { revenueClaimerAbi } from "../../abi/revenueClaimer.ts";
import { AccountRequiredError, type NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  sendContractWrite,
  type ShardholderClient,
  resolveDeployments,
  type WriteResult,
} from "../internal/client.ts";
import { parseEventLogs } from "viem";
import { getClaimable } from "./getClaimable.ts";

export type ClaimAllParameters = DeploymentsParameter &
  AccountParameter & {
    /** Models to claim from; default: every model where the sender has something claimable. */
    modelIds?: readonly bigint[] | undefined;
  };

/** `transactionHash` and `receipt` are absent when there was nothing to claim (no transaction sent). */
export type ClaimAllReturnType = Partial<WriteResult> & { totalWei: bigint; tokens: Address[] };

export type ClaimAllErrorType = AccountRequiredError | NoDeploymentError;

/**
 * Claims the sender's revenue from many models in one transaction through the RevenueClaimer,
 * paid straight to the sender. Models with nothing claimable are left out; when nothing is
 * claimable anywhere no transaction is sent.
 *
 * @example
 * import { claimAll } from "shardholder/sdk"
 * const { totalWei } = await claimAll(walletClient, { deployments })
 */
export async function claimAll(client: ShardholderClient, parameters: ClaimAllParameters): Promise<ClaimAllReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: "claimAll" });
  const holder = typeof account === "string" ? account : account.address;
  const { models } = await getClaimable(client, { deployments: parameters.deployments, holder, modelIds: parameters.modelIds });
  const tokens = models.filter((m) => m.claimableWei > 0n).map((m) => m.token);
  if (tokens.length === 0) return { totalWei: 0n, tokens: [] };
  const result = await sendContractWrite(client, {
    action: "claimAll",
    abi: revenueClaimerAbi,
    address: contracts.revenueClaimer,
    functionName: "claimAll",
    args: [tokens],
    account,
  });
  const claimed = parseEventLogs({ abi: modelTokenAbi, eventName: "RevenueClaimed", logs: result.receipt.logs });
  return { ...result, tokens, totalWei: claimed.reduce((sum, l) => sum + l.args.amountWei, 0n) };
}
