import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Libp2p } from "@libp2p/interface";
import { type Address, parseEther, type WalletClient, zeroAddress, zeroHash } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { registerModel } from "../../sdk/actions/models/registerModel.ts";
import { weightsRoot } from "../../sdk/protocol/index.ts";
import { type RoundReport, type RoundRunner, sdkCommitmentLedger, trainRounds } from "../../worker/commit/index.ts";
import { Journal, replay, roundItems } from "../../worker/journal/index.ts";
import { createPipeNode } from "../../worker/p2p/node.ts";
import { tensorFrameLimits } from "../../worker/p2p/frames.ts";
import { localPipeAuth } from "../../worker/p2p/hello.ts";
import { openPipe, pipeNeighbours } from "../../worker/p2p/pipe.ts";
import { loadStage } from "../../worker/pipeline/models.ts";
import { runStageRound } from "../../worker/pipeline/runner.ts";
import { type ToySpec, toyModel } from "../../dev/pipeline/toyStage.ts";
import { accountAt, deployShardholder, type Shardholder, testSpec } from "../sdk/fixture.ts";

const toy: ToySpec = { vocab: 16, width: 12, batch: 2, seqLen: 4, stages: 2, seed: 5, learningRate: 0.5 };
const MICROBATCHES = 4;
const modelId = 1n;

const dirs: string[] = [];
const nodes: Libp2p[] = [];
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type StageWorker = {
  index: number;
  dir: string;
  wallet: WalletClient & { account: NonNullable<WalletClient["account"]> };
  worker: Address;
  signer: ReturnType<typeof privateKeyToAccount>;
};

describe("trainRounds: a 2-stage pipeline over libp2p journals, commits and submits each round", () => {
  let s: Shardholder;
  const stages: StageWorker[] = [];

  beforeAll(async () => {
    s = await deployShardholder();
    const initialRoots = await Promise.all(
      [0, 1].map(async (i) => {
        const loaded = await loadStage(toyModel(toy), i, modelId);
        const root = weightsRoot(loaded.stage.exportWeights());
        loaded.stage.dispose();
        return root;
      }),
    );
    await registerModel(s.deployer, { deployments: s.deployments, spec: testSpec({ initialWeightsRoots: initialRoots }) });
    for (const index of [0, 1]) {
      const wallet = s.wallets[index + 1];
      if (!wallet) throw new Error("no wallet");
      const signer = privateKeyToAccount(generatePrivateKey());
      await stake(wallet, { deployments: s.deployments, payout: accountAt(s, 7), signingKey: signer.address, valueWei: parseEther("2") });
      const dir = await mkdtemp(path.join(tmpdir(), `trainer-s${index}-`));
      dirs.push(dir);
      stages.push({ index, dir, wallet: wallet, worker: accountAt(s, index + 1), signer });
    }
  });

  /** Starts both stage "processes" (in one test process), trains `rounds`, returns their reports. */
  async function session(
    rounds: bigint[],
    rerunDurable = false,
    crashBefore?: { stage: number; record: string },
  ): Promise<Array<RoundReport[] | Error>> {
    const loaded = await Promise.all(stages.map((st) => loadStage(toyModel(toy), st.index, modelId)));
    const [n0, n1] = await Promise.all([createPipeNode(), createPipeNode()]);
    if (!n0 || !n1) throw new Error("nodes");
    nodes.push(n0, n1);
    const [pipe0, pipe1] = await Promise.all([
      openPipe({
        node: n0,
        stageIndex: 0,
        stageCount: 2,
        modelKey: loaded[0]?.modelKey ?? zeroHash,
        auth: { ...(await localPipeAuth(modelId)), worker: stages[0]?.worker ?? zeroAddress },
        limits: tensorFrameLimits(loaded[0]?.wireShape ?? []),
        nextAddress: n1.getMultiaddrs()[0]?.toString(),
      }),
      openPipe({
        node: n1,
        stageIndex: 1,
        stageCount: 2,
        modelKey: loaded[1]?.modelKey ?? zeroHash,
        auth: { ...(await localPipeAuth(modelId)), worker: stages[1]?.worker ?? zeroAddress },
        limits: tensorFrameLimits(loaded[1]?.wireShape ?? []),
      }),
    ]);
    const pipes = [pipe0, pipe1];
    const reports = await Promise.all(
      stages.map(async (st) => {
        const l = loaded[st.index];
        const pipe = pipes[st.index];
        if (!l || !pipe) throw new Error("setup");
        const runner: RoundRunner = {
          runRound: async (round) => ({
            ...(await runStageRound({
              stage: l.stage,
              round,
              microbatches: MICROBATCHES,
              schedule: "1f1b",
              wire: "int8",
              prev: pipe.prev,
              next: pipe.next,
              data: l.data,
              head: st.worker,
            })),
            neighbours: pipeNeighbours(pipe),
          }),
          exportWeights: () => l.stage.exportWeights(),
          importWeights: (w) => l.stage.importWeights(w),
        };
        const journal = await Journal.open(st.dir, { modelId, stage: st.index, worker: st.worker });
        if (crashBefore?.stage === st.index) {
          // The process "dies" right before journaling that record: nothing after it happens.
          const append = journal.append.bind(journal);
          journal.append = (record) =>
            record.type === crashBefore.record ? Promise.reject(new Error(`crashed before ${record.type}`)) : append(record);
        }
        const out: RoundReport[] = [];
        const trained = trainRounds({
          journal,
          runner,
          modelId,
          stage: st.index,
          worker: st.worker,
          signer: st.signer,
          ledger: sdkCommitmentLedger(st.wallet, { deployments: s.deployments, account: st.wallet.account }),
          ledgerAddress: s.deployments.contracts.computeLedger,
          chainId: s.deployments.chainId,
          rounds,
          microbatches: MICROBATCHES,
          rerunDurable,
          onRound: (r) => out.push(r),
        });
        const failed = await trained.then(
          () => undefined,
          (err: unknown) => err as Error,
        );
        await journal.close();
        return failed ?? out;
      }),
    );
    await Promise.allSettled([pipe0.next?.close(), pipe1.prev?.close()]);
    await Promise.all([n0.stop(), n1.stop()]);
    for (const l of loaded) l.stage.dispose();
    return reports;
  }

  const reportsOf = (r: RoundReport[] | Error | undefined): RoundReport[] => {
    if (!r || r instanceof Error) throw r ?? new Error("no reports");
    return r;
  };

  it("round 0: both stages' commitments are accepted and their journals form the hash chain", async () => {
    const [r0, r1] = (await session([0n])).map(reportsOf);
    expect(r0?.[0]).toMatchObject({ round: 0n, trained: true });
    expect(r1?.[0]?.meanLoss).toBeGreaterThan(0);
    expect(r0?.[0]?.bytesOnWire).toBeGreaterThan(0);
    for (const st of stages) {
      const rec = await getCommitment(s.publicClient, {
        deployments: s.deployments,
        modelId,
        round: 0n,
        stage: st.index,
        worker: st.worker,
      });
      expect(rec.found).toBe(true);
      expect(rec.units).toBe(BigInt(MICROBATCHES) * (st.index === 0 ? 3n : 5n));
    }
    const [j0, j1] = await Promise.all(stages.map((st) => Journal.open(st.dir, { modelId, stage: st.index, worker: st.worker })));
    if (!j0 || !j1) throw new Error("journals");
    const items0 = roundItems(replay(j0.records), 0n);
    const items1 = roundItems(replay(j1.records), 0n);
    expect(items0).toHaveLength(MICROBATCHES);
    items0.forEach((item, k) => {
      expect(item.outputActHash).toBe(items1[k]?.inputActHash);
      expect(item.upstreamGradHash).toBe(items1[k]?.inputGradHash);
    });
    await Promise.all([j0.close(), j1.close()]);
  });

  it("a restarted session skips the durable round 0 (no recompute, no resubmission) and trains round 1 from the checkpoint", async () => {
    await s.networkHelpers.time.increase(3600);
    const noncesBefore = await Promise.all(stages.map((st) => s.publicClient.getTransactionCount({ address: st.worker })));
    const [r0, r1] = (await session([0n, 1n])).map(reportsOf);
    expect(r0?.map((r) => r.trained)).toEqual([false, true]);
    expect(r1?.map((r) => r.trained)).toEqual([false, true]);
    expect(r0?.[0]?.flush.transactions).toEqual([]);
    const noncesAfter = await Promise.all(stages.map((st) => s.publicClient.getTransactionCount({ address: st.worker })));
    expect(noncesAfter.map((n, i) => n - (noncesBefore[i] as number))).toEqual([1, 1]);
    for (const st of stages) {
      const rec = await getCommitment(s.publicClient, {
        deployments: s.deployments,
        modelId,
        round: 1n,
        stage: st.index,
        worker: st.worker,
      });
      expect(rec.found).toBe(true);
      const j = await Journal.open(st.dir, { modelId, stage: st.index, worker: st.worker });
      const state = replay(j.records);
      // Round 1 starts exactly where round 0's checkpoint left the weights.
      expect(state.roundStarts.get(1n)?.weightsRoot).toBe(state.roundLatest.get(0n)?.weightsRoot);
      await j.close();
    }
  });

  it("lockstep resume: a stage that lost round 2 redoes it while its neighbour reruns its durable copy; same hashes, nothing resent", async () => {
    await s.networkHelpers.time.increase(3600);
    const [st0] = stages;
    if (!st0) throw new Error("setup");
    const backup = `${st0.dir}-before-round-2`;
    dirs.push(backup);
    await cp(st0.dir, backup, { recursive: true });
    (await session([2n], true)).map(reportsOf);
    const firstCommitment = replay((await reopen(0)).records).commitments;
    // Stage 0 comes back with a journal from before round 2 (as if it had crashed before any of it was durable).
    await rm(st0.dir, { recursive: true, force: true });
    await cp(backup, st0.dir, { recursive: true });
    const noncesBefore = await Promise.all(stages.map((st) => s.publicClient.getTransactionCount({ address: st.worker })));
    const [r0, r1] = (await session([2n], true)).map(reportsOf);
    expect(r0?.[0]).toMatchObject({ trained: true, rerun: false });
    expect(r0?.[0]?.flush.foundOnChain).toHaveLength(1);
    expect(r1?.[0]).toMatchObject({ trained: false, rerun: true, rerunMismatches: 0 });
    const noncesAfter = await Promise.all(stages.map((st) => s.publicClient.getTransactionCount({ address: st.worker })));
    expect(noncesAfter).toEqual(noncesBefore);
    const again = replay((await reopen(0)).records).commitments;
    expect([...again.values()].find((c) => c.commitment.round === 2n)?.commitment).toEqual(
      [...firstCommitment.values()].find((c) => c.commitment.round === 2n)?.commitment,
    );
  });

  it("a crash between a round's end checkpoint and its commitment loses nothing: the restart commits and submits that round", async () => {
    await s.networkHelpers.time.increase(3600);
    const round = 3n;
    const [st0] = stages;
    if (!st0) throw new Error("setup");
    const [crashed, survivor] = await session([round], false, { stage: 0, record: "commitment" });
    expect(crashed).toBeInstanceOf(Error);
    expect(reportsOf(survivor)[0]).toMatchObject({ round, trained: true });
    const state = replay((await reopen(0)).records);
    expect(state.roundLatest.get(round)?.step).toBe(0); // durable...
    expect([...state.commitments.values()].some((c) => c.commitment.round === round)).toBe(false); // ...but never committed
    const where = { deployments: s.deployments, modelId, round, stage: 0, worker: st0.worker };
    expect((await getCommitment(s.publicClient, where)).found).toBe(false);

    // The restart has no round left to train; told the chain is still in that round, it commits it.
    const journal = await Journal.open(st0.dir, { modelId, stage: 0, worker: st0.worker });
    const untouched: RoundRunner = {
      runRound: () => Promise.reject(new Error("a durable round must not be recomputed")),
      exportWeights: () => new Float32Array(),
      importWeights: () => undefined,
    };
    const common = {
      journal,
      runner: untouched,
      modelId,
      stage: 0,
      worker: st0.worker,
      signer: st0.signer,
      ledger: sdkCommitmentLedger(st0.wallet, { deployments: s.deployments, account: st0.wallet.account }),
      ledgerAddress: s.deployments.contracts.computeLedger,
      chainId: s.deployments.chainId,
      rounds: [],
      microbatches: MICROBATCHES,
    };
    await trainRounds({ ...common, firstOpenRound: round + 1n }); // its window closed: left alone
    expect([...replay(journal.records).commitments.values()].some((c) => c.commitment.round === round)).toBe(false);
    await trainRounds({ ...common, firstOpenRound: round });
    await journal.close();
    const committed = [...replay(journal.records).commitments.values()].filter((c) => c.commitment.round === round);
    expect(committed).toHaveLength(1);
    expect(committed[0]?.commitment.weightsRootAfter).toBe(state.roundLatest.get(round)?.weightsRoot);
    expect((await getCommitment(s.publicClient, where)).found).toBe(true);
  });

  async function reopen(index: number): Promise<Journal> {
    const st = stages[index];
    if (!st) throw new Error("no stage");
    const j = await Journal.open(st.dir, { modelId, stage: st.index, worker: st.worker });
    await j.close();
    return j;
  }
});
