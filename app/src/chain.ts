// The page's view of the chain: one bare viem client (actions are imported one by one, so the
// bundle carries only those used) through the app's same-origin RPC proxy, and a watcher that
// turns new blocks and the protocol's events into refreshes.
import { type Address, type Chain, createClient, defineChain, http, type Log } from "viem";
import { getBlockNumber, getLogs } from "viem/actions";
import type { AppConfig } from "./config.ts";
import type { ReadClient } from "./readClient.ts";

export type { ReadClient };

export const DEV_CHAIN_ID = 31337;

export function chainOf(config: AppConfig): Chain {
  return defineChain({
    id: config.chainId,
    name: config.chainId === DEV_CHAIN_ID ? "Shardholder devnet (Hardhat)" : `Chain ${config.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
}

/** Reads go through the app's proxy, batched (one HTTP request for the calls of a tick). */
export function readClientOf(config: AppConfig): ReadClient {
  return createClient({ chain: chainOf(config), transport: http(config.rpcUrl, { batch: true, retryCount: 1 }), pollingInterval: 1_000 });
}

export type ChainHealth = { ok: true; block: bigint } | { ok: false; error: unknown };

/**
 * Polls the head every `pollMs`; for each new range of blocks, fetches the logs of `addresses()`
 * (the protocol contracts and every model token) and calls `onEvents` when there are any.
 * `onHealth` hears every poll's outcome (the page's "RPC down" banner). Returns `stop`.
 */
export function watchChain(
  client: ReadClient,
  addresses: () => Address[],
  onEvents: (logs: Log[], block: bigint) => void,
  onHealth: (health: ChainHealth) => void,
  pollMs = 1_000,
): () => void {
  let last: bigint | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      const head = await getBlockNumber(client, { cacheTime: 0 });
      if (last === undefined) last = head;
      else if (head > last) {
        const logs = await getLogs(client, { address: addresses(), fromBlock: last + 1n, toBlock: head });
        last = head;
        if (logs.length > 0) onEvents(logs, head);
      } else if (head < last) last = head; // the chain was reset or reorganised: start over from its head
      onHealth({ ok: true, block: head });
    } catch (error) {
      onHealth({ ok: false, error });
    }
    if (!stopped) timer = setTimeout(tick, pollMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
