import { getBlock } from "viem/actions";
import type { ShardholderClient } from "./client.ts";

/**
 * The time the next block will carry: the pending block's where the node reports one, never
 * before the latest's. On an idle dev chain the latest block can be minutes old while the next
 * one is stamped now, so deadlines and window checks measure from here.
 */
export async function nextBlockTime(client: ShardholderClient): Promise<bigint> {
  const latest = await getBlock(client);
  const pending = await getBlock(client, { blockTag: "pending" }).catch(() => undefined);
  return pending && pending.timestamp > latest.timestamp ? pending.timestamp : latest.timestamp;
}
