// The SDK calls the devnet's operator side makes (the dapp client imports `shardholder/sdk` itself).
import type { Address, Hash, PublicClient } from "viem";
import { getContractEvents } from "viem/actions";
import { computeLedgerAbi } from "../../../sdk/abi/computeLedger.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
export { claimRevenue } from "../../../sdk/actions/holders/claimRevenue.ts";
export { getClaimable } from "../../../sdk/actions/holders/getClaimable.ts";
export { getModel } from "../../../sdk/actions/models/getModel.ts";
export { registerModel } from "../../../sdk/actions/models/registerModel.ts";

type LedgerEvent = "CommitmentAccepted" | "WorkerSlashed";
type EventRow = { transactionHash: Hash; worker: Address; round: bigint; slashedWei: bigint };

/** The ledger's `eventName` logs of `modelId` since deployment, flattened. */
export async function getContractEventsSafe(client: PublicClient, deployments: Deployments, eventName: LedgerEvent, modelId: bigint): Promise<EventRow[]> {
  const logs = await getContractEvents(client, {
    abi: computeLedgerAbi,
    address: deployments.contracts.computeLedger,
    eventName,
    args: { modelId },
    fromBlock: BigInt(deployments.deployedAtBlock),
    strict: true,
  });
  return logs.map((l) => {
    const a = l.args as { worker: Address; round: bigint; slashedWei?: bigint };
    return { transactionHash: l.transactionHash, worker: a.worker, round: a.round, slashedWei: a.slashedWei ?? 0n };
  });
}
