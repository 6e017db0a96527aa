import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** A round's finalization, as its `RoundFinalized` event has it. */
export type RoundFinalization = EventLocation & {
  modelId: bigint;
  round: bigint;
  /** Units of the round's unslashed, unvoided commitments: what the workers' rewards divide. */
  totalUnits: bigint;
  /** The whole round emission (workers, designer and validators). */
  emissionTokens: bigint;
};

export type GetRoundFinalizationsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round (a round is finalized once, so at most one entry). */
    round?: bigint | undefined;
  };

export type GetRoundFinalizationsReturnType = RoundFinalization[];

export type GetRoundFinalizationsErrorType = NoDeploymentError;

/**
 * The finalized rounds of a model, in chain order, from `RoundFinalized` events between the
 * deployment block (or `fromBlock`) and `toBlock`; the location names the transaction that
 * finalized each (anyone may send it). `getRound` reads whether a round is final now.
 *
 * @example
 * import { getRoundFinalizations } from "@shardholder/sdk"
 * const [finalized] = await getRoundFinalizations(client, { deployments, modelId: 1n, round: 3n })
 * console.log(finalized?.transactionHash)
 */
export async function getRoundFinalizations(
  client: ShardholderClient,
  parameters: GetRoundFinalizationsParameters,
): Promise<GetRoundFinalizationsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const logs = await scanEvents(client, {
    abi: [ledgerAbi.RoundFinalized],
    address: contracts.computeLedger,
    eventName: "RoundFinalized",
    args: { modelId: parameters.modelId, round: parameters.round },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs.map((l) => {
    const { modelId, round, totalUnits, emissionTokens } = l.args;
    return { modelId, round, totalUnits, emissionTokens, ...locationOf(l) };
  });
}
