import type { Address, Hex } from "viem";
import { inferenceEscrowAbi } from "../../abi/inferenceEscrow.ts";
import type { InferenceEscrowNothingToWithdrawError, InferenceEscrowNotPipelineMemberError } from "../../errors/contractErrors.ts";
import { AccountRequiredError, type NoDeploymentError } from "../../errors/sdk.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";
import { readMany } from "../internal/multicall.ts";
import { getPipelines } from "./getPipelines.ts";

export type WithdrawEscrowBalanceParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    to?: Address | undefined;
    /**
     * The pipelines to take the sender's shares from. Default: every pipeline the sender is a member
     * of that owes it something, at most `maxPipelines` of them (call again for the rest).
     */
    pipelineKeys?: readonly Hex[] | undefined;
    /** Page size when `pipelineKeys` is not given (default 200). */
    maxPipelines?: number | undefined;
  };

export type WithdrawEscrowBalanceReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { amountWei: bigint; pipelineKeys: readonly Hex[] },
  wait
>;

export type WithdrawEscrowBalanceErrorType =
  InferenceEscrowNothingToWithdrawError | InferenceEscrowNotPipelineMemberError | AccountRequiredError | NoDeploymentError;

/**
 * Withdraws the sender's escrow balance to `to` (default: the sender): its shares of the pipelines
 * it serves in (pulled per pipeline, so a withdrawal never walks anything another account can grow)
 * and, for the treasury, the protocol fees.
 *
 * @example
 * import { withdrawEscrowBalance } from "@shardholder/sdk"
 * const { amountWei } = await withdrawEscrowBalance(walletClient, { deployments })
 */
export async function withdrawEscrowBalance<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: WithdrawEscrowBalanceParameters<wait>,
): Promise<WithdrawEscrowBalanceReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: "withdrawEscrowBalance" });
  const sender = typeof account === "string" ? account : account.address;
  const to = parameters.to ?? sender;
  const pipelineKeys = parameters.pipelineKeys ?? (await owingPipelines(client, parameters, sender, contracts.inferenceEscrow));
  const sent = await sendContractWrite(
    client,
    {
      action: "withdrawEscrowBalance",
      abi: inferenceEscrowAbi,
      address: contracts.inferenceEscrow,
      functionName: "withdraw",
      args: [to, pipelineKeys],
      account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: inferenceEscrowAbi, address: contracts.inferenceEscrow, eventName: "Withdrawn" });
    return { ...result, amountWei: args.amountWei, pipelineKeys };
  });
}

/** The sender's pipelines that owe it something, oldest first, at most `maxPipelines`. */
async function owingPipelines(
  client: ShardholderClient,
  parameters: WithdrawEscrowBalanceParameters<boolean>,
  sender: Address,
  escrow: Address,
): Promise<Hex[]> {
  const pipelines = await getPipelines(client, { deployments: parameters.deployments, operator: sender });
  if (pipelines.length === 0) return [];
  const shares = await readMany(
    client,
    pipelines.map((p) => ({ abi: inferenceEscrowAbi, address: escrow, functionName: "memberOf", args: [p.pipelineKey, sender] }) as const),
  );
  return pipelines
    .filter((_, i) => (shares[i]?.[1] ?? 0n) > 0n)
    .map((p) => p.pipelineKey)
    .slice(0, parameters.maxPipelines ?? 200);
}
