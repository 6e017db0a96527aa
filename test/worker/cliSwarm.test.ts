// `shardholder train --swarm`: the last stage has replicas. Stage 0 routes each round's
// microbatches across every stage-1 miner in the stage directory; each replica commits only the
// microbatches it kept, is paid per item, and every replica ends each round on the same weights.
// A replica killed with -9 mid-run costs nobody else anything; one that joins later starts at a
// round boundary from the weights the others committed.
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { storedCommitmentDigest } from "../../sdk/protocol/commitment.ts";
import { Journal, replay, roundItems } from "../../worker/journal/index.ts";
import { listedMicrobatches } from "../../sdk/protocol/linkReceipt.ts";
import { duplicateProof, misorderedProof, type ServedCommitment, servedLookup, unlinkedProof } from "../../worker/validator/links.ts";
import { accountAt } from "../sdk/fixture.ts";
import { driveRounds, type KillChain, killSpec, setupKillChain, startStage, swarmArgs } from "./trainKillSetup.ts";

const PER_ROUND = killSpec.microbatchesPerStep * killSpec.stepsPerRound;

async function journalOf(dir: string, stage: number, worker: Address) {
  const j = await Journal.open(dir, { modelId: 1n, stage, worker });
  const state = replay(j.records);
  await j.close();
  return state;
}

describe("train --swarm: replicas of the last stage", () => {
  let c: KillChain;
  beforeAll(async () => {
    c = await setupKillChain();
  });
  afterAll(async () => {
    await c?.close();
    if (c) await rm(c.dir, { recursive: true, force: true });
  });

  it("two replicas share every round, are paid per item they kept, and end each round on the same weights; a killed one costs nobody; a joiner starts at a round boundary", async () => {
    const head = accountAt(c.s, 1);
    const [a, b, joiner] = [accountAt(c.s, 2), accountAt(c.s, 4), accountAt(c.s, 3)];
    const until = 3n;
    const dirs = {
      head: path.join(c.dir, "j-head"),
      a: path.join(c.dir, "j-a"),
      b: path.join(c.dir, "j-b"),
      joiner: path.join(c.dir, "j-joiner"),
    };
    const procA = startStage(swarmArgs(c, { key: 1, stage: 1, journalDir: dirs.a, until }));
    const procB = startStage(swarmArgs(c, { key: 3, stage: 1, journalDir: dirs.b, until }));
    // Stage 0 starts once both replicas announced themselves (it routes to whoever answers).
    const announced = (p: ReturnType<typeof startStage>) =>
      p.logs.some((l) => l.msg === "waiting for the previous stage to link to this replica");
    while (!announced(procA) || !announced(procB)) await new Promise((r) => setTimeout(r, 100));
    const procHead = startStage(swarmArgs(c, { key: 0, stage: 0, journalDir: dirs.head, until }));
    // Rounds 0 and 1 need head, a and b; from round 2 b is gone and the joiner is in.
    const drive01 = driveRounds(
      c,
      [
        [head, a],
        [head, b],
      ],
      1n,
    );
    // B trains rounds 0 and 1 and is killed with -9 as soon as its round-1 commitment lands (round 2 is starting).
    const bDone = async () =>
      (await getCommitment(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n, round: 1n, stage: 1, worker: b })).found;
    while (!(await bDone())) await new Promise((r) => setTimeout(r, 100));
    procB.child.kill("SIGKILL");
    while ((await getCurrentRound(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n })) < 2n)
      await new Promise((r) => setTimeout(r, 100));
    await drive01.stop();
    // A new miner joins stage 1 while round 2 runs without it; rounds move on once it announced itself.
    const procJoiner = startStage(swarmArgs(c, { key: 2, stage: 1, journalDir: dirs.joiner, until }));
    while (!announced(procJoiner)) await new Promise((r) => setTimeout(r, 100));
    // Round 2 ran on A alone (B is dead, the joiner was not up); the joiner is linked from round 3 on.
    const drive23 = driveRounds(c, [[head, a]], 2n);
    const exits = await Promise.all([procHead.exit, procA.exit, procJoiner.exit]);
    await drive23.stop();
    expect(
      exits.map((e) => e.code),
      `${procHead.stderr}\n${procA.stderr}\n${procJoiner.stderr}`,
    ).toEqual([0, 0, 0]);
    if (process.env.SWARM_LOGS)
      (await import("node:fs")).writeFileSync(
        process.env.SWARM_LOGS,
        JSON.stringify({ head: procHead.logs, a: procA.logs, joiner: procJoiner.logs }, null, 1),
      );

    const model = await getModel(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n });
    const states = {
      head: await journalOf(dirs.head, 0, head),
      a: await journalOf(dirs.a, 1, a),
      b: await journalOf(dirs.b, 1, b),
      joiner: await journalOf(dirs.joiner, 1, joiner),
    };
    for (let round = 0n; round <= until; round++) {
      const replicas = (
        round <= 1n
          ? [
              ["a", a],
              ["b", b],
            ]
          : [
              ["a", a],
              ["joiner", joiner],
            ]
      ) as [keyof typeof states, Address][];
      const headItems = roundItems(states.head, round);
      expect(headItems.map((i) => i.microbatch)).toEqual([...Array(PER_ROUND).keys()]);
      const kept = new Map<number, Address>();
      const afters = new Set<string>();
      for (const [name, worker] of replicas) {
        const items = roundItems(states[name], round);
        const onChain = await getCommitment(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n, round, stage: 1, worker });
        if (name === "joiner" && round === 2n) {
          expect(items).toHaveLength(0); // it connected after round 2 began: it starts at round 3
          continue;
        }
        expect(items.length, `${name} round ${round}`).toBeGreaterThan(0);
        // Paid per item it kept: units = items x the stage's units per microbatch.
        const commitment = [...states[name].commitments.values()].find((x) => x.commitment.round === round)?.commitment;
        expect(onChain.found).toBe(true);
        expect(onChain.units).toBe(BigInt(items.length) * model.unitsPerMicrobatch[1]!);
        expect(onChain.digestPrefix.toLowerCase()).toBe(storedCommitmentDigest(commitment!).slice(0, 38).toLowerCase());
        afters.add(commitment!.weightsRootAfter);
        // The fan-out stage's link receipt for the round lists exactly the microbatches the replica
        // kept, so a lie of its about them is provable (docs/PROTOCOL.md "Link receipts").
        const receipts = states[name].receipts.get(round) ?? [];
        expect(
          receipts.map((r) => [r.upstream, r.downstream, listedMicrobatches(r.microbatches)]),
          `${name} round ${round}`,
        ).toEqual([[head, worker, items.map((i) => i.microbatch)]]);
        items.forEach((item, slot) => {
          expect(item.index).toBe(slot);
          expect(item.upstream).toBe(head);
          expect(kept.has(item.microbatch)).toBe(false);
          kept.set(item.microbatch, worker);
        });
      }
      // Each microbatch kept by at most one replica, which stage 0's leaf names downstream; one
      // stage 0 kept from a replica that then died before committing the round is that replica's loss alone.
      const committed = new Set(replicas.filter(([name]) => roundItems(states[name], round).length > 0).map(([, w]) => w));
      for (const item of headItems) {
        if (kept.has(item.microbatch)) expect(item.downstream).toBe(kept.get(item.microbatch));
        else expect(committed.has(item.downstream), `microbatch ${item.microbatch} of round ${round}`).toBe(false);
      }
      expect([...kept.keys()].every((m) => headItems.some((i) => i.microbatch === m))).toBe(true);
      if (round !== 2n) expect(kept.size, `round ${round}`).toBe(PER_ROUND); // only round 2 may lose a replica mid-round
      // Every replica that trained the round ends it on the same weights.
      expect(afters.size, `round ${round}`).toBe(1);
    }
    // What the validators' link checks see in these manifests: no honest replica is unlinked, a
    // duplicate, or out of order (each of these would void its commitment on-chain).
    for (let round = 0n; round <= until; round++) {
      const served: ServedCommitment[] = [];
      for (const [name, stage, worker] of [
        ["head", 0, head],
        ["a", 1, a],
        ["b", 1, b],
        ["joiner", 1, joiner],
      ] as const) {
        const state = states[name];
        const c = [...state.commitments.values()].find((x) => x.commitment.round === round);
        if (c)
          served.push({
            c: { worker, stage },
            m: { commitment: c.commitment, signature: c.signature?.signature ?? "0x", items: roundItems(state, round) },
          });
      }
      const lookup = servedLookup(served);
      const accepted = served.map((x) => x.c);
      for (const x of served) {
        expect(unlinkedProof(x, lookup), `${x.c.worker} round ${round}`).toBeUndefined();
        expect(duplicateProof(x, served, accepted, lookup)).toBeUndefined();
        expect(misorderedProof(x)).toBeUndefined();
      }
    }
    // Each round's held-out loss is evaluated once, by the roster's first replica, on the combined weights.
    for (let round = 0n; round <= until; round++) {
      const evaluated = [procA, procB, procJoiner]
        .flatMap((x) => x.logs)
        .filter((l) => l.msg === "round committed" && l.round === String(round) && typeof l.evalLoss === "number");
      // (B was killed as soon as its round-1 commitment landed: its log line for round 1 may be lost.)
      expect(evaluated.length, `round ${round}`).toBe(round === 1n ? Math.min(evaluated.length, 1) : 1);
      for (const e of evaluated) expect(e.evalLoss).toBeGreaterThan(0);
    }
    // The killed replica's committed rounds stay paid (never voided), and it committed nothing after.
    for (const round of [0n, 1n])
      expect(
        await getCommitment(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n, round, stage: 1, worker: b }),
      ).toMatchObject({ found: true, voided: false, slashed: false });
    expect(
      (await getCommitment(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n, round: 2n, stage: 1, worker: b })).found,
    ).toBe(false);
    // The joiner started from the weights the replicas committed, checked against the chain.
    expect(procJoiner.logs.find((l) => l.msg === "caught up: continuing from the weights the other replicas committed")).toMatchObject({
      round: "2",
      worker: a,
    });
    // Its round 3 started from the weights A committed for round 2.
    const aRound2 = [...states.a.commitments.values()].find((x) => x.commitment.round === 2n)?.commitment;
    const joinerRound3 = [...states.joiner.commitments.values()].find((x) => x.commitment.round === 3n)?.commitment;
    expect(joinerRound3?.weightsRootBefore).toBe(aRound2?.weightsRootAfter);
  }, 600_000);
});
