import type { Libp2p } from "@libp2p/interface";
import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, testSpec } from "../../test/sdk/fixture.ts";
import { ContentStore, float32FromBytes } from "./content.ts";
import { ContentUnavailableError, fetchContent, serveContent } from "./contentProtocol.ts";
import { createPipeNode } from "./node.ts";
import { helloDomainOf } from "./stakedNeighbour.ts";
import { announceStageMember, contentHello, stageContentGate, stageMemberOnChain } from "./stageMembers.ts";

const nodes: Libp2p[] = [];
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
});

describe("weights never leave their stage", () => {
  it("a stage-0 miner serves its weights and gradients to its stage's validator, refuses a stage-1 miner, a lying or copied hello and an anonymous request; tensors stay public", async () => {
    const s = await deployShardholder();
    const { modelId } = await actionsOf(s, 0).registerModel({
      spec: testSpec({ minWorkerStakeWei: parseEther("2"), minValidatorStakeWei: parseEther("1") }),
    });
    const { specHash } = await actionsOf(s, 0).getModel({ modelId });
    const domain = helloDomainOf(s.deployments);
    // wallet 1: stage-0 miner, wallet 2: stage-1 miner, wallet 3: stage-0 validator; each signs with a local key.
    const signers = [1, 2, 3].map(() => privateKeyToAccount(generatePrivateKey()));
    const [miner0, miner1, validator0] = (await Promise.all(
      [0, 1, 2].map(async () => {
        const node = await createPipeNode();
        nodes.push(node);
        return node;
      }),
    )) as [Libp2p, Libp2p, Libp2p];
    for (const [i, eth] of [
      [1, "2"],
      [2, "2"],
      [3, "1"],
    ] as const) {
      await actionsOf(s, i).stake({
        payout: accountAt(s, i),
        signingKey: (signers[i - 1] as (typeof signers)[number]).address,
        valueWei: parseEther(eth),
      });
    }
    await actionsOf(s, 3).setValidator({ modelId, stage: 0, validator: true });
    for (const [i, stage, node] of [
      [1, 0, miner0],
      [2, 1, miner1],
      [3, 0, validator0],
    ] as const) {
      const wallet = s.wallets[i] as Parameters<typeof announceStageMember>[0]["wallet"];
      expect(await announceStageMember({ wallet, client: s.publicClient, deployments: s.deployments, modelId, stage, node })).toBe(
        "announced",
      );
      expect(await announceStageMember({ wallet, client: s.publicClient, deployments: s.deployments, modelId, stage, node })).toBe(
        "unchanged",
      );
    }

    const store = new ContentStore();
    const weights = new Float32Array([0.5, -1.25, 3]);
    const weightsKey = store.putWeights(weights);
    const gradientKey = store.putGradient(new Float32Array([1, 2]));
    const tensorKey = store.putTensor(new Uint8Array([7, 7, 7]));
    const isMember = stageMemberOnChain(s.publicClient, s.deployments, modelId);
    await serveContent(miner0, store, { gate: stageContentGate({ modelId, specHash, stage: 0, domain, isMember }) });
    const address = miner0.getMultiaddrs()[0]?.toString() as string;
    const hello = (i: number, stage: number, node: Libp2p) =>
      contentHello({ signer: signers[i - 1] as (typeof signers)[number], domain, modelId, specHash, stage, worker: accountAt(s, i), node });
    const reason = (p: Promise<unknown>) =>
      p.then(
        () => "served",
        (e: unknown) => (e instanceof ContentUnavailableError ? e.reason : String(e)),
      );

    // Its own stage's validator gets both, checked against their keys.
    const validatorHello = await hello(3, 0, validator0);
    expect(
      float32FromBytes(await fetchContent({ node: validator0, address, kind: "weights", key: weightsKey, hello: validatorHello })),
    ).toEqual(weights);
    expect(await reason(fetchContent({ node: validator0, address, kind: "gradient", key: gradientKey, hello: validatorHello }))).toBe(
      "served",
    );
    // A stage-1 miner is refused, under its true stage or claiming stage 0 (its record says 1).
    expect(await reason(fetchContent({ node: miner1, address, kind: "weights", key: weightsKey, hello: await hello(2, 1, miner1) }))).toBe(
      "refused",
    );
    expect(
      await reason(fetchContent({ node: miner1, address, kind: "gradient", key: gradientKey, hello: await hello(2, 0, miner1) })),
    ).toBe("refused");
    // The validator's hello replayed from another node names another peer id than the connection's.
    expect(await reason(fetchContent({ node: miner1, address, kind: "weights", key: weightsKey, hello: validatorHello }))).toBe("refused");
    expect(await reason(fetchContent({ node: miner1, address, kind: "weights", key: weightsKey }))).toBe("refused");
    // Activations and manifests are not a stage's parameters: anyone may audit links with them.
    expect(await fetchContent({ node: miner1, address, kind: "tensor", key: tensorKey })).toEqual(new Uint8Array([7, 7, 7]));
    // A validator that leaves the stage loses access at once (the ledger's word, read per request).
    await actionsOf(s, 3).setValidator({ modelId, stage: 0, validator: false });
    expect(await reason(fetchContent({ node: validator0, address, kind: "weights", key: weightsKey, hello: validatorHello }))).toBe(
      "refused",
    );
  }, 120_000);
});
