import hre from "hardhat";
import { createPublicClient, createWalletClient, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RpcServer, serveRpc } from "../../scripts/lib/rpcServer.ts";
import { isTransientRpcError, jitteredBackoffMs, type RpcRetryInfo, RpcStalledError, rpcTransport } from "../../worker/rpc/transport.ts";
import { type RpcProxy, startRpcProxy } from "../lib/rpcProxy.ts";

// Hardhat's default account 1 (funded on the in-process chain).
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("rpcTransport: one JSON-RPC layer that waits out a stalled or restarting chain", () => {
  let chain: RpcServer;
  let proxy: RpcProxy;
  beforeAll(async () => {
    const connection = await hre.network.create();
    chain = await serveRpc(connection.provider);
  });
  // A failed test must not leave the proxy frozen or refusing for the next one.
  afterEach(async () => {
    proxy?.thaw();
    await proxy?.accept().catch(() => undefined);
  });
  afterAll(async () => {
    await proxy?.close();
    await chain?.close();
  });

  const fast = (onRetry: (i: RpcRetryInfo) => void, urls = [proxy.url]) =>
    rpcTransport({ urls, timeoutMs: 400, baseDelayMs: 40, maxDelayMs: 200, stallBudgetMs: 60_000, onRetry });

  it("a frozen chain (requests held past the timeout) is retried until it answers, one onRetry per wait", async () => {
    proxy = await startRpcProxy(chain.url);
    const retries: RpcRetryInfo[] = [];
    const client = createPublicClient({
      transport: fast((info) => {
        retries.push(info);
        if (info.attempt === 3) proxy.thaw(); // the chain comes back after three timed-out attempts
      }),
    });
    const before = await client.getBlockNumber({ cacheTime: 0 });
    proxy.freeze();
    expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(before);
    expect(retries.map((r) => [r.method, r.attempt])).toEqual([
      ["eth_blockNumber", 1],
      ["eth_blockNumber", 2],
      ["eth_blockNumber", 3],
    ]);
    expect(retries.every((r) => r.error.name === "TimeoutError" || isTransientRpcError(r.error))).toBe(true);
  });

  it("refused connections (the node restarting) are retried until it listens again", async () => {
    const retries: RpcRetryInfo[] = [];
    const client = createPublicClient({
      transport: fast((info) => {
        retries.push(info);
        if (info.attempt === 2) void proxy.accept();
      }),
    });
    await proxy.refuse();
    expect(await client.getChainId()).toBe(31337);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.every((r) => isTransientRpcError(r.error))).toBe(true);
  });

  it("a dead first endpoint hands over to the next (--rpc repeated) without waiting", async () => {
    const dead = await startRpcProxy(chain.url);
    const deadUrl = dead.url;
    await dead.close();
    const retries: RpcRetryInfo[] = [];
    const client = createPublicClient({ transport: fast((i) => retries.push(i), [deadUrl, proxy.url]) });
    expect(await client.getChainId()).toBe(31337);
    expect(retries).toEqual([]);
  });

  it("a transaction whose answer was lost is found on the chain: one transaction, its hash returned", async () => {
    const account = privateKeyToAccount(KEY);
    const retries: RpcRetryInfo[] = [];
    const transport = fast((i) => retries.push(i));
    const wallet = createWalletClient({
      account,
      transport,
      chain: {
        id: 31337,
        name: "hardhat",
        nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
        rpcUrls: { default: { http: [proxy.url] } },
      },
    });
    const client = createPublicClient({ transport });
    const nonce = await client.getTransactionCount({ address: account.address });
    proxy.loseNextSendAnswer();
    const sendsBefore = proxy.seen.get("eth_sendRawTransaction") ?? 0;
    const hash = await wallet.sendTransaction({ to: "0x00000000000000000000000000000000000000aa", value: parseEther("0.001") });
    const receipt = await client.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    // Sent twice (the answer of the first was lost), landed once.
    expect((proxy.seen.get("eth_sendRawTransaction") ?? 0) - sendsBefore).toBe(2);
    expect(await client.getTransactionCount({ address: account.address })).toBe(nonce + 1);
    expect(retries.map((r) => r.method)).toEqual(["eth_sendRawTransaction"]);
  });

  it("a node's real answer (a revert, an unknown method) is not retried", async () => {
    const retries: RpcRetryInfo[] = [];
    const client = createPublicClient({ transport: fast((i) => retries.push(i)) });
    await expect(client.request({ method: "shardholder_nope" as "eth_chainId" })).rejects.toThrow();
    await expect(client.call({ to: "0x00000000000000000000000000000000000000aa", data: "0x", gas: 1n })).rejects.toThrow();
    expect(retries).toEqual([]);
  });

  it("a stall longer than the budget fails with RpcStalledError, not a hang", async () => {
    const client = createPublicClient({
      transport: rpcTransport({ urls: [proxy.url], timeoutMs: 200, baseDelayMs: 40, maxDelayMs: 100, stallBudgetMs: 1_000 }),
    });
    proxy.freeze();
    try {
      const error = await client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
      expect((error as Error).name).toBe("RpcStalledError");
      expect(error).toBeInstanceOf(RpcStalledError);
    } finally {
      proxy.thaw();
    }
  });

  it("backoff doubles, caps, and draws in [d/2, d]", () => {
    expect([1, 2, 3, 4, 5].map((n) => jitteredBackoffMs(n, 100, 500, () => 0))).toEqual([50, 100, 200, 250, 250]);
    expect([1, 2, 3, 4, 5].map((n) => jitteredBackoffMs(n, 100, 500, () => 0.999999))).toEqual([100, 200, 400, 500, 500]);
  });
});
