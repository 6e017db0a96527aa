import type { Address } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNotFinalizedError, ComputeLedgerNothingToMintError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
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

export type MintRewardParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { modelId: bigint; round: bigint; worker: Address };

export type MintRewardReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & {
    /** Token wei minted to the worker's payout address. */
    workerTokens: bigint;
    /** Token wei minted to the model's designer. */
    designerTokens: bigint;
    payout: Address;
    units: bigint;
  },
  wait
>;

export type MintRewardErrorType =
  ComputeLedgerNotFinalizedError | ComputeLedgerNothingToMintError | AccountRequiredError | NoDeploymentError;

/**
 * Mints a worker's share of a finalized round (`emission * units / totalUnits`) to its payout
 * address; anyone may call it, the tokens only ever go to the registered payout.
 *
 * @example
 * import { mintReward } from "@shardholder/sdk"
 * const { workerTokens } = await mintReward(walletClient, { deployments, modelId: 1n, round: 0n, worker })
 */
export async function mintReward<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: MintRewardParameters<wait>,
): Promise<MintRewardReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "mintReward",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "mintReward",
      args: [parameters.modelId, parameters.round, parameters.worker],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "RewardMinted" });
    return { ...result, workerTokens: args.workerTokens, designerTokens: args.designerTokens, payout: args.payout, units: args.units };
  });
}
