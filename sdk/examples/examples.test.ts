import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Hex, keccak256, parseEther, toHex, type WalletClient, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, mintRound, type Shardholder, signedServing, testSpec } from "../../test/sdk/fixture.ts";
import { runServingOperator } from "../../worker/serve/operator.ts";
import { ContentStore, serveContentStore } from "../../worker/serve/store.ts";
import { runDapp } from "./dapp.ts";
import { runHolder } from "./holder.ts";
import { runMiner } from "./miner.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

describe("README examples", () => {
  let s: Shardholder;
  beforeAll(async () => {
    s = await deployShardholder();
    await actionsOf(s, 0).registerModel({ spec: testSpec() });
  });

  it("the README shows each example file verbatim", async () => {
    const readme = await readFile(path.join(here, "..", "README.md"), "utf8");
    for (const file of ["dapp.ts", "holder.ts", "miner.ts"]) {
      const code = (await readFile(path.join(here, file), "utf8")).replaceAll('from "../index.ts"', 'from "@shardholder/sdk"');
      expect(readme, `README lacks sdk/examples/${file}`).toContain(code.trim());
    }
  });

  it("miner: stakes and relays a signed commitment the ledger accepts", async () => {
    const signer = privateKeyToAccount(generatePrivateKey());
    const h = (x: string): Hex => keccak256(toHex(x));
    const commitment = {
      modelId: 1n,
      round: 0n,
      stage: 0,
      worker: accountAt(s, 1),
      itemsRoot: h("items"),
      itemCount: 4,
      weightsRootBefore: testSpec().initialWeightsRoots[0] as Hex,
      weightsRootAfter: h("after"),
      upstream: zeroAddress,
      downstream: accountAt(s, 2),
    };
    const wallet = s.wallets[1];
    if (!wallet) throw new Error("no wallet");
    const record = await runMiner(wallet, s.deployments, { modelId: 1n, payout: accountAt(s, 8), signer, commitment });
    expect([record.found, record.units]).toEqual([true, 12n]);
  });

  it("dapp: gets the verified text of a prompt from the endpoint an operator announced on-chain", async () => {
    await actionsOf(s, 2).stake({ payout: accountAt(s, 2), signingKey: accountAt(s, 2), valueWei: parseEther("1") });
    // one operator serving both stages: its own transaction is its whole consent
    const stageOperators = [accountAt(s, 2), accountAt(s, 2)];
    const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
    await actionsOf(s, 2).registerPipeline({ modelId: 1n, stageOperators, consentDeadline });
    // The operator's side (worker/serve): its content store, announced in the ServingDirectory, and its fulfil loop.
    const store = new ContentStore();
    const server = await serveContentStore(store);
    await actionsOf(s, 2).announceEndpoint({ modelId: 1n, url: server.url });
    const stop = new AbortController();
    const operator = runServingOperator({
      client: s.publicClient,
      wallet: s.wallets[2] as WalletClient,
      deployments: s.deployments,
      modelId: 1n,
      store,
      stageOperators,
      generate: async (r) => ({
        text: `${r.prompt}, there was a model.`,
        ...(await signedServing(s, { requestId: r.requestId, stageOperators })),
      }),
      pollMs: 20,
      signal: stop.signal,
    });
    try {
      const wallet = s.wallets[5];
      if (!wallet) throw new Error("no wallet");
      const result = await runDapp(wallet, s.deployments, 1n);
      expect(result.text).toBe("Once upon a time, there was a model.");
      expect(result.holdersWei).toBeGreaterThan(0n);
    } finally {
      stop.abort();
      await operator;
      await server.close();
    }
  });

  it("holder: claims everything it earned", async () => {
    // its own model: tokens minted to the holder, then one fulfilled request's revenue
    const { modelId } = await actionsOf(s, 0).registerModel({ spec: testSpec() });
    await mintRound(s, { modelId, workers: [3, 4], payouts: [accountAt(s, 6), accountAt(s, 7)] });
    const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
    await actionsOf(s, 3).registerPipeline({ modelId, stageOperators: [accountAt(s, 3), accountAt(s, 3)], consentDeadline });
    const { requestId } = await actionsOf(s, 5).requestInference({ modelId, input: "more revenue" });
    const serving = await signedServing(s, { requestId, stageOperators: [accountAt(s, 3), accountAt(s, 3)] });
    await actionsOf(s, 3).fulfillInference({ requestId, outputHash: keccak256(toHex("x")), ...serving });
    const wallet = s.wallets[6];
    if (!wallet) throw new Error("no wallet");
    const { expectedWei, claimedWei } = await runHolder(wallet, s.deployments);
    expect(expectedWei).toBeGreaterThan(0n);
    expect(claimedWei).toBe(expectedWei);
  });
});
