import * as tf from "@tensorflow/tfjs";
import type { Libp2p } from "@libp2p/interface";
import { type Address, keccak256, stringToBytes, zeroAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToyStage, type ToySpec, toyMicrobatch } from "../../dev/pipeline/toyStage.ts";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import { ContentStore } from "../p2p/content.ts";
import { captureLinkContent } from "../p2p/contentCapture.ts";
import { tensorFrameLimits } from "../p2p/frames.ts";
import { localPipeAuth } from "../p2p/hello.ts";
import type { PipeLink } from "../p2p/link.ts";
import { createPipeNode } from "../p2p/node.ts";
import { acceptUpstream, dialReplicas, openPipe } from "../p2p/pipe.ts";
import { runStageRound } from "./runner.ts";
import {
  combineReplicaWeights,
  NoReplicaLeftError,
  pickReplica,
  ReplicaThroughput,
  type ReplicatedRoundResult,
  runFanOutRound,
  runReplicaRound,
} from "./replicas.ts";

const toy: ToySpec = { vocab: 16, width: 12, batch: 2, seqLen: 4, stages: 2, seed: 7, learningRate: 1 };
const data = (head: Address, round: bigint, index: number) => toyMicrobatch(toy, 3n, round, head, index);
const HEAD: Address = "0x00000000000000000000000000000000000000aa";
const M = 6;
const K = 2;
const nodes: Libp2p[] = [];

beforeAll(async () => {
  await tf.setBackend("cpu");
});
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
});

/** Stage 0 linked to `replicas` replicas of stage 1, over real libp2p streams on loopback. */
async function swarm(name: string, replicas: number) {
  const modelKey = keccak256(stringToBytes(name));
  const limits = tensorFrameLimits([toy.batch, toy.seqLen, toy.width], { targetVocab: toy.vocab });
  const head = await createPipeNode();
  const members = await Promise.all(Array.from({ length: replicas }, () => createPipeNode()));
  nodes.push(head, ...members);
  const memberPipes = members.map(async (node) =>
    openPipe({ node, stageIndex: 1, stageCount: 2, modelKey, auth: await localPipeAuth(3n), limits }),
  );
  const links = await dialReplicas(
    { node: head, stageIndex: 0, stageCount: 2, modelKey, auth: await localPipeAuth(3n), limits },
    members.map((n) => n.getMultiaddrs()[0]?.toString() as string),
  );
  const prevs = (await Promise.all(memberPipes)).map((p) => p.prev as PipeLink);
  return { links, prevs };
}

function keptBy(result: ReplicatedRoundResult): number[] {
  return result.records.map((r) => r.index);
}

describe("replicas of a stage over in-process libp2p links", () => {
  it("routes every microbatch to exactly one replica, both sides link each leaf to the other, a slow replica gets fewer", async () => {
    const { links, prevs } = await swarm("routes", 2);
    const [fast, slow] = prevs as [PipeLink, PipeLink];
    // The slow replica answers each microbatch 60 ms late (its machine is slower).
    const send = slow.send.bind(slow);
    slow.send = async (frame) => {
      if (frame.kind === "gradient") await new Promise((r) => setTimeout(r, 60));
      return send(frame);
    };
    const head = createToyStage(toy, 0);
    const replicas = [createToyStage(toy, 1), createToyStage(toy, 1)];
    const [up, a, b] = await Promise.all([
      runFanOutRound({ stage: head, round: 0n, microbatches: M, steps: K, wire: "float32", replicas: links, data, head: HEAD, window: 1 }),
      runReplicaRound({ stage: replicas[0] as ReturnType<typeof createToyStage>, round: 0n, steps: K, wire: "float32", prev: fast }),
      runReplicaRound({ stage: replicas[1] as ReturnType<typeof createToyStage>, round: 0n, steps: K, wire: "float32", prev: slow }),
    ]);
    expect(up.records.map((r) => r.index)).toEqual([...Array(M * K).keys()]);
    expect([...keptBy(a), ...keptBy(b)].sort((x, y) => x - y)).toEqual([...Array(M * K).keys()]);
    expect(keptBy(a).filter((m) => keptBy(b).includes(m))).toEqual([]);
    expect(keptBy(b).length).toBeLessThan(keptBy(a).length);
    expect(keptBy(b).length).toBeGreaterThan(0);
    // Every leaf names the neighbour it really exchanged its microbatch with, and the hashes chain.
    for (const [i, replica] of [a, b].entries()) {
      for (const r of replica.records) {
        const sent = up.records.find((x) => x.index === r.index);
        expect(sent?.downstream).toBe(links[i]?.peerWorker);
        expect(r.upstream).toBe(prevs[i]?.peerWorker);
        expect(r.downstream).toBe(zeroAddress);
        expect(sent?.outputActHash).toBe(r.inputActHash);
        expect(sent?.upstreamGradHash).toBe(r.inputGradHash);
      }
    }
    expect(up.routed.get(links[0]?.peerWorker as Address)).toBe(keptBy(a).length);
    // Both replicas learn the same roster: who finished, with what root and how many microbatches.
    expect(a.roster).toEqual(up.roster);
    expect(b.roster).toEqual(up.roster);
    expect(up.roster.map((e) => [e.worker, e.items])).toEqual([
      [links[0]?.peerWorker, keptBy(a).length],
      [links[1]?.peerWorker, keptBy(b).length],
    ]);
    expect(up.roster[0]?.root).toBe(weightsRoot((replicas[0] as ReturnType<typeof createToyStage>).exportWeights()));
  });

  it("a replica that dies mid-round loses its unanswered microbatches to the survivor; the round completes with each microbatch kept once", async () => {
    const { links, prevs } = await swarm("dies", 2);
    const [survivor, doomed] = prevs as [PipeLink, PipeLink];
    const head = createToyStage(toy, 0);
    const doomedStage = createToyStage(toy, 1);
    let answered = 0;
    const send = doomed.send.bind(doomed);
    doomed.send = async (frame) => {
      // It answers two microbatches, then its process dies before the third answer.
      if (frame.kind === "gradient" && ++answered === 3) {
        doomed.drop(new Error("killed"));
        throw new Error("killed");
      }
      return send(frame);
    };
    const [up, kept, dead] = await Promise.all([
      runFanOutRound({
        stage: head,
        round: 0n,
        microbatches: M,
        steps: K,
        wire: "float32",
        replicas: links,
        data,
        head: HEAD,
        window: 1,
        replicaTimeoutMs: 10_000,
      }),
      runReplicaRound({ stage: createToyStage(toy, 1), round: 0n, steps: K, wire: "float32", prev: survivor }),
      runReplicaRound({ stage: doomedStage, round: 0n, steps: K, wire: "float32", prev: doomed }).catch((e: Error) => e),
    ]);
    expect(dead).toBeInstanceOf(Error);
    expect(up.lost).toEqual([links[1]?.peerWorker]);
    expect(up.records.map((r) => r.index)).toEqual([...Array(M * K).keys()]);
    // Everything stage 0 kept went to the survivor, except what the doomed replica answered before dying (step 0).
    const viaDoomed = up.records.filter((r) => r.downstream === links[1]?.peerWorker).map((r) => r.index);
    expect(viaDoomed.length).toBe(2);
    expect([...keptBy(kept), ...viaDoomed].sort((x, y) => x - y)).toEqual([...Array(M * K).keys()]);
    expect(kept.roster.map((e) => e.worker)).toEqual([links[0]?.peerWorker]);
  });

  it("when the last replica dies the round stops with NoReplicaLeftError (the pipeline pauses until one joins)", async () => {
    const { links, prevs } = await swarm("pauses", 1);
    const only = prevs[0] as PipeLink;
    const send = only.send.bind(only);
    only.send = async (frame) => {
      if (frame.kind === "gradient") {
        only.drop(new Error("killed"));
        throw new Error("killed");
      }
      return send(frame);
    };
    const [up] = await Promise.allSettled([
      runFanOutRound({
        stage: createToyStage(toy, 0),
        round: 0n,
        microbatches: M,
        steps: K,
        wire: "float32",
        replicas: links,
        data,
        head: HEAD,
        replicaTimeoutMs: 10_000,
      }),
      runReplicaRound({ stage: createToyStage(toy, 1), round: 0n, steps: K, wire: "float32", prev: only }),
    ]);
    expect(up.status).toBe("rejected");
    expect((up as PromiseRejectedResult).reason).toBeInstanceOf(NoReplicaLeftError);
    expect(((up as PromiseRejectedResult).reason as NoReplicaLeftError).shortMessage).toMatch(
      /Stage 1 has no replica left in round 0: the pipeline pauses until one joins\./,
    );
  });

  it("replicas that combine their round-end weights hold the same bits, whatever order they list each other in", () => {
    const a = { worker: "0x00000000000000000000000000000000000000b1" as Address, weights: Float32Array.from([1, 2, 3.5]), items: 3 };
    const b = { worker: "0x00000000000000000000000000000000000000a2" as Address, weights: Float32Array.from([0.1, -2, 7]), items: 1 };
    const idle = { worker: "0x0000000000000000000000000000000000000003" as Address, weights: Float32Array.from([100, 100, 100]), items: 0 };
    const one = combineReplicaWeights([a, b, idle]);
    const other = combineReplicaWeights([idle, b, a]);
    expect(weightsRoot(one)).toBe(weightsRoot(other));
    expect(Array.from(one)).toEqual([Math.fround((1 * 3 + 0.1 * 1) / 4), Math.fround((2 * 3 - 2) / 4), Math.fround((3.5 * 3 + 7) / 4)]);
    expect(() => combineReplicaWeights([idle])).toThrow(/no replica trained/);
  });
  it("a middle stage fans out to the replicas while its own upstream runs 1F1B (it takes activations as they come)", async () => {
    // Stage 0 runs the usual 1F1B schedule: after its warm-up it sends microbatch m+2 only once
    // m's gradient came back, so a fan-out that waited for an activation before answering the
    // gradients it holds would never finish the round.
    const toy3: ToySpec = { ...toy, stages: 3 };
    const modelKey = keccak256(stringToBytes("middle"));
    const limits = tensorFrameLimits([toy3.batch, toy3.seqLen, toy3.width], { targetVocab: toy3.vocab });
    const [head, middle, r1, r2] = await Promise.all([createPipeNode(), createPipeNode(), createPipeNode(), createPipeNode()]);
    nodes.push(head, middle, r1, r2);
    const auth = await localPipeAuth(3n);
    const replicaPipes = [r1, r2].map((node) => openPipe({ node, stageIndex: 2, stageCount: 3, modelKey, auth, limits }));
    const links = await dialReplicas(
      { node: middle, stageIndex: 1, stageCount: 3, modelKey, auth, limits },
      [r1, r2].map((n) => n.getMultiaddrs()[0]?.toString() as string),
    );
    const middlePrev = acceptUpstream({ node: middle, stageIndex: 1, stageCount: 3, modelKey, auth, limits });
    const headPipe = await openPipe({
      node: head,
      stageIndex: 0,
      stageCount: 3,
      modelKey,
      auth,
      limits,
      nextAddress: middle.getMultiaddrs()[0]?.toString(),
    });
    const prev = await middlePrev;
    const [p1, p2] = (await Promise.all(replicaPipes)).map((p) => p.prev as PipeLink);
    // What each side serves validators: every payload its links carried (replicas take frames in arrival order).
    const stores = { middle: new ContentStore(), a: new ContentStore(), b: new ContentStore() };
    for (const l of links) captureLinkContent(l, stores.middle);
    captureLinkContent(p1 as PipeLink, stores.a);
    captureLinkContent(p2 as PipeLink, stores.b);
    const data3 = (h: Address, round: bigint, index: number) => toyMicrobatch(toy3, 3n, round, h, index);
    const [first, fanOut, a, b] = await Promise.all([
      runStageRound({
        stage: createToyStage(toy3, 0),
        round: 0n,
        microbatches: M,
        steps: K,
        schedule: "1f1b",
        wire: "float32",
        next: headPipe.next,
        data: data3,
        head: HEAD,
      }),
      runFanOutRound({ stage: createToyStage(toy3, 1), round: 0n, microbatches: M, steps: K, wire: "float32", prev, replicas: links }),
      runReplicaRound({ stage: createToyStage(toy3, 2), round: 0n, steps: K, wire: "float32", prev: p1 as PipeLink }),
      runReplicaRound({ stage: createToyStage(toy3, 2), round: 0n, steps: K, wire: "float32", prev: p2 as PipeLink }),
    ]);
    const all = [...Array(M * K).keys()];
    expect(first.records.map((r) => r.index)).toEqual(all);
    expect(fanOut.records.map((r) => r.index)).toEqual(all);
    expect([...keptBy(a), ...keptBy(b)].sort((x, y) => x - y)).toEqual(all);
    // The middle stage's leaves chain to stage 0's on one side and to the replica that kept each microbatch on the other.
    for (const r of fanOut.records) {
      const upstream = first.records.find((x) => x.index === r.index);
      expect(r.inputActHash).toBe(upstream?.outputActHash);
      expect(r.inputGradHash).toBe(upstream?.upstreamGradHash);
      expect([links[0]?.peerWorker, links[1]?.peerWorker]).toContain(r.downstream);
      // The gradient it received from its replica (and the activation it sent) are served by hash.
      expect(stores.middle.get("tensor", r.upstreamGradHash), `microbatch ${r.index}`).toBeDefined();
      expect(stores.middle.get("tensor", r.outputActHash)).toBeDefined();
    }
    // Each replica serves the input it committed to and the gradient it sent back.
    for (const [replica, store] of [
      [a, stores.a],
      [b, stores.b],
    ] as const)
      for (const r of replica.records) {
        expect(store.get("tensor", r.inputActHash), `microbatch ${r.index}`).toBeDefined();
        expect(store.get("tensor", r.inputGradHash)).toBeDefined();
      }
  }, 60_000);
  it("routes in proportion to measured throughput even when a step's microbatches all fit in the windows", async () => {
    // M = 4 microbatches a step and a window of 2 per replica: filling free slots alone would give
    // each replica 2 every step whatever its speed. A replica 4x slower must get fewer.
    const { links, prevs } = await swarm("throughput", 2);
    const [fast, slow] = prevs as [PipeLink, PipeLink];
    const send = slow.send.bind(slow);
    slow.send = async (frame) => {
      if (frame.kind === "gradient") await new Promise((r) => setTimeout(r, 80));
      return send(frame);
    };
    const throughput = new ReplicaThroughput();
    const [, a, b] = await Promise.all([
      runFanOutRound({
        stage: createToyStage(toy, 0),
        round: 0n,
        microbatches: 4,
        steps: 6,
        wire: "float32",
        replicas: links,
        data,
        head: HEAD,
        window: 2,
        throughput,
      }),
      runReplicaRound({ stage: createToyStage(toy, 1), round: 0n, steps: 6, wire: "float32", prev: fast }),
      runReplicaRound({ stage: createToyStage(toy, 1), round: 0n, steps: 6, wire: "float32", prev: slow }),
    ]);
    expect(keptBy(a).length + keptBy(b).length).toBe(24);
    expect(keptBy(b).length).toBeLessThan(keptBy(a).length / 2);
    expect(throughput.estimate(links[1]?.peerWorker as Address)).toBeGreaterThan(throughput.estimate(links[0]?.peerWorker as Address));
  }, 60_000);

  it("gives every replica one microbatch a round, then picks the one that would finish first, waits for a faster full one, and breaks ties by fewer routed then address", () => {
    const t = new ReplicaThroughput();
    const [x, y, z] = [
      "0x0000000000000000000000000000000000000001",
      "0x0000000000000000000000000000000000000002",
      "0x0000000000000000000000000000000000000003",
    ] as const;
    // A replica routed nothing yet this round comes first, lowest address first (each trains at least one a round).
    expect(
      pickReplica(
        [
          { link: "y", worker: y, held: 0, routed: 0 },
          { link: "x", worker: x, held: 0, routed: 1 },
        ],
        2,
        t,
      ),
    ).toBe("y");
    expect(
      pickReplica(
        [
          { link: "y", worker: y, held: 0, routed: 0 },
          { link: "x", worker: x, held: 0, routed: 0 },
        ],
        2,
        t,
      ),
    ).toBe("x");
    // Equal estimates: fewer routed wins.
    expect(
      pickReplica(
        [
          { link: "y", worker: y, held: 0, routed: 1 },
          { link: "x", worker: x, held: 0, routed: 2 },
        ],
        2,
        t,
      ),
    ).toBe("y");
    t.observe(x, 10);
    t.observe(y, 40);
    // x finishes a second microbatch (20 ms) before y finishes its first (40 ms).
    expect(
      pickReplica(
        [
          { link: "x", worker: x, held: 1, routed: 1 },
          { link: "y", worker: y, held: 0, routed: 1 },
        ],
        2,
        t,
      ),
    ).toBe("x");
    // x's window is full, but its third (30 ms) still beats y's first: wait for x.
    expect(
      pickReplica(
        [
          { link: "x", worker: x, held: 2, routed: 2 },
          { link: "y", worker: y, held: 0, routed: 1 },
        ],
        2,
        t,
      ),
    ).toBeUndefined();
    // Past that, y is worth it.
    expect(
      pickReplica(
        [
          { link: "x", worker: x, held: 4, routed: 4 },
          { link: "y", worker: y, held: 0, routed: 1 },
        ],
        4,
        t,
      ),
    ).toBe("y");
    // A replica not measured yet counts as fast as the fastest, so it is tried.
    expect(t.estimate(z)).toBe(10);
    // One left idle is tried again: its lag behind the fastest halves each time.
    t.relax([y]);
    expect(t.estimate(y)).toBe(25);
    // The estimate follows new answers (moving average).
    t.observe(x, 20);
    expect(t.estimate(x)).toBeCloseTo(13, 6);
  });
});
