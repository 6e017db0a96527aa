import type { Address } from "viem";
import { inferenceEscrowAbi } from "../../abi/inferenceEscrow.ts";
import type { InferenceEscrowNothingToWithdrawError } from "../../errors/contractErrors.ts";
import { AccountRequiredError, type NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";

export type WithdrawEscrowBalanceParameters = DeploymentsParameter & AccountParameter & { to?: Address | undefined };

export type WithdrawEscrowBalanceReturnType = WriteResult & { amountWei: bigint };

export type WithdrawEscrowBalanceErrorType = InferenceEscrowNothingToWithdrawError | AccountRequiredError | NoDeploymentError;

/**
 * Withdraws the sender's escrow balance (serving operators' fees, or the treasury's) to `to`
 * (default: the sender).
 *
 * @example
 * import { withdrawEscrowBalance } from "shardholder/sdk"
 * const { amountWei } = await withdrawEscrowBalance(walletClient, { deployments })
 */
export async function withdrawEscrowBalance(
  client: ShardholderClient,
  parameters: WithdrawEscrowBalanceParameters,
): Promise<WithdrawEscrowBalanceReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: "withdrawEscrowBalance" });
  const to = parameters.to ?? (typeof account === "string" ? account : account.address);
  const result = await sendContractWrite(client, {
    action: "withdrawEscrowBalance",
    abi: inferenceEscrowAbi,
    address: contracts.inferenceEscrow,
    functionName: "withdraw",
    args: [to],
    account,
  });
  const { args } = receiptEvent(result, { abi: inferenceEscrowAbi, address: contracts.inferenceEscrow, eventName: "Withdrawn" });
  return { ...result, amountWei: args.amountWei };
}
