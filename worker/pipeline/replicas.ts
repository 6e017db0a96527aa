// Rounds of a stage whose next stage has replicas (docs/PROTOCOL.md "Replicas"): the stage routes
// each microbatch to one replica of stage s+1, as many at a time as a replica has free slots, so a
// replica that answers faster gets more; one that fails has its unanswered microbatches sent to
// the others. After each step the stage tells every replica which microbatches it kept (the
// acknowledgement a replica commits by), and the replica steps on exactly those.
import * as tf from "@tensorflow/tfjs";
import { type Address, type Hex, zeroAddress, zeroHash } from "viem";
import { fastWeightsRoot } from "../backend/roots.ts";
import { BaseError } from "../../sdk/errors/base.ts";
import type { PipeLink } from "../p2p/link.ts";
import {
  decodeActivationPayload,
  decodeWireTensor,
  encodeActivationPayload,
  encodeTargets,
  encodeWireTensor,
  hashScalarLoss,
  hashTokenIds,
  type WireFormat,
} from "../p2p/wire.ts";
import { crossEntropy } from "../model/ops.ts";
import type { MicrobatchRecord, RoundEvaluation, RoundResult, RoundTimings, StepWeights } from "./runner.ts";
import type { MicrobatchSource, PipelineStage } from "./types.ts";

/** Step markers ride on hello frames keyed `(round, STEP_MARK + step)`, apart from the pipe's own hello keys. */
export const STEP_MARK = 0x0100_0000;
/** A replica's round end (`(round, ROUND_END)`, up) and the round's roster (`(round, ROSTER)`, down). */
export const ROUND_END = 0x0200_0000;
export const ROSTER = 0x0200_0001;

/** One replica's part of a round: its round-end weights root before combining, and the microbatches it kept. */
export type RosterEntry = { worker: Address; root: Hex; items: number };

/** A microbatch record with the neighbours it was exchanged with (a replica's own, per microbatch). */
export type RoutedRecord = MicrobatchRecord & { upstream: Address; downstream: Address };

/** A round of a replicated pipeline: the records kept, and who trained how many of them downstream. */
export type ReplicatedRoundResult = Omit<RoundResult, "records"> & {
  records: RoutedRecord[];
  routed: Map<Address, number>;
  lost: Address[];
  /** Every replica that finished the round, as the fan-out stage told them all (the set they combine). */
  roster: RosterEntry[];
  /** A replica's own weights at the round's end, before combining (what its roster entry's root names). */
  endWeights?: Float32Array | undefined;
};

/** Every replica of the next stage is gone: the pipeline pauses until one joins. */
export class NoReplicaLeftError extends BaseError {
  constructor({ stage, round }: { stage: number; round: bigint }) {
    super(`Stage ${stage + 1} has no replica left in round ${round}: the pipeline pauses until one joins.`, { name: "NoReplicaLeftError" });
  }
}

type Frame = Awaited<ReturnType<PipeLink["receiveNext"]>>;
type Armed = Promise<{ link: PipeLink; frame?: Frame; error?: Error }>;

/**
 * The one pending `receiveNext` of each link, kept across rounds: a link allows one waiter per
 * kind, and the receive armed at the end of a round catches the next round's first frame.
 */
const armedGradients = new WeakMap<PipeLink, Armed>();
const armedActivations = new WeakMap<PipeLink, Promise<Frame>>();
/** An activation of a later round that ended a skipped round's wait: the next round starts with it. */
const earlyActivations = new WeakMap<PipeLink, Frame>();

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const now = (): number => performance.now();
const emptyTimings = (): RoundTimings => ({ wallMs: 0, idleMs: 0, busyMs: 0, forwardMs: 0, backwardMs: 0, stepMs: 0, codecMs: 0 });

/** The step marker a replica receives: the microbatches of the step its upstream kept from it. */
export function encodeStepMark(microbatches: readonly number[]): Uint8Array {
  return encoder.encode(JSON.stringify({ microbatches }));
}

function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function decodeRoster(payload: Uint8Array): RosterEntry[] {
  const body = JSON.parse(decoder.decode(payload)) as { roster?: unknown };
  const ok = (e: unknown): e is RosterEntry => {
    const x = e as Partial<RosterEntry>;
    return (
      typeof x.worker === "string" &&
      /^0x[0-9a-fA-F]{40}$/.test(x.worker) &&
      typeof x.root === "string" &&
      /^0x[0-9a-fA-F]{64}$/.test(x.root) &&
      Number.isInteger(x.items)
    );
  };
  if (!Array.isArray(body.roster) || !body.roster.every(ok)) throw new Error("roster frame without entries");
  return body.roster;
}

export function decodeStepMark(payload: Uint8Array): number[] {
  const body = JSON.parse(decoder.decode(payload)) as { microbatches?: unknown };
  if (!Array.isArray(body.microbatches) || !body.microbatches.every((m) => Number.isInteger(m) && m >= 0))
    throw new Error("step marker without microbatches");
  return body.microbatches as number[];
}

export type FanOutRoundParameters = {
  stage: PipelineStage;
  round: bigint;
  /** Microbatches per optimizer step (M). */
  microbatches: number;
  /** Optimizer steps in the round (K, default 1). */
  steps?: number | undefined;
  wire: WireFormat;
  /** Link to stage s-1 (absent on stage 0). */
  prev?: PipeLink | undefined;
  /** Authenticated links to the replicas of stage s+1. */
  replicas: readonly PipeLink[];
  /** Stage 0: the deterministic data and the head it is drawn for. */
  data?: MicrobatchSource | undefined;
  head?: Address | undefined;
  /** Microbatches a replica may hold at once (default 2). */
  window?: number | undefined;
  /**
   * Held-out microbatches forwarded after the round (frames `K*M ..`, as runner.ts does) to the
   * first replica of the roster, which evaluates them on the combined weights.
   */
  evaluation?: RoundEvaluation | undefined;
  /** A replica that holds a microbatch this long without answering is dropped (default 300 s). */
  replicaTimeoutMs?: number | undefined;
  /** Each replica's measured time per microbatch, kept across rounds by the caller (routing follows it). */
  throughput?: ReplicaThroughput | undefined;
};

/**
 * Each replica's time per microbatch, measured from its answers (an exponential moving average of
 * the time from when a microbatch could start there, its send or the replica's previous answer,
 * to its gradient). A fan-out stage keeps one across rounds so its routing follows throughput.
 */
export class ReplicaThroughput {
  readonly #ms = new Map<Address, number>();

  observe(worker: Address, ms: number): void {
    const previous = this.#ms.get(worker);
    this.#ms.set(worker, previous === undefined ? ms : previous + 0.3 * (ms - previous));
  }

  /** Estimated ms per microbatch; one not measured yet counts as fast as the fastest measured (so it is given work and measured). */
  estimate(worker: Address): number {
    return this.#ms.get(worker) ?? this.#fastest();
  }

  /**
   * Halves how much slower than the fastest each of `idle` looks: a replica routed nothing (its
   * estimate got no new answer) is tried again after a few steps, so one slow moment never
   * starves it for good.
   */
  relax(idle: readonly Address[]): void {
    const fastest = this.#fastest();
    for (const worker of idle) {
      const ms = this.#ms.get(worker);
      if (ms !== undefined) this.#ms.set(worker, fastest + (ms - fastest) / 2);
    }
  }

  #fastest(): number {
    return this.#ms.size ? Math.min(...this.#ms.values()) : 1;
  }
}

type InFlight = { payload: Uint8Array; sentAt: number };

/**
 * Where the next microbatch goes. A replica routed nothing yet this round comes first (lowest
 * address first): every linked replica trains at least one microbatch a round, so it stays
 * measured and on the roster. Otherwise the replica that would finish it first by its measured
 * time per microbatch (`(held + 1) x estimate`), so a faster machine gets proportionally more;
 * ties go to the one routed fewer this round, then the lower address. Undefined when that
 * replica's window is full: waiting for it beats handing the microbatch to a slower one (and when
 * every window is full there is nothing to do but wait).
 */
export function pickReplica<L>(
  candidates: readonly { link: L; worker: Address; held: number; routed: number }[],
  window: number,
  throughput: ReplicaThroughput,
): L | undefined {
  const lower = (a: { worker: Address }, b: { worker: Address }) => a.worker.toLowerCase() < b.worker.toLowerCase();
  const untried = candidates.filter((c) => c.routed === 0 && c.held < window).sort((a, b) => (lower(a, b) ? -1 : 1))[0];
  if (untried) return untried.link;
  let best: { link: L; worker: Address; held: number; routed: number; finish: number } | undefined;
  for (const c of candidates) {
    const finish = (c.held + 1) * throughput.estimate(c.worker);
    if (
      !best ||
      finish < best.finish ||
      (finish === best.finish && (c.routed < best.routed || (c.routed === best.routed && lower(c, best))))
    )
      best = { ...c, finish };
  }
  return best && best.held < window ? best.link : undefined;
}

/**
 * One training round of a stage whose next stage has replicas. Each step forwards its M
 * microbatches, routing each by {@link pickReplica} (at most `window` in flight per replica), runs
 * backward on each gradient as it arrives, steps, then sends every live replica the list of the
 * step's microbatches it kept from it. A replica whose link fails, or that sits on a microbatch
 * past `replicaTimeoutMs`, is dropped and its unanswered microbatches go to the others.
 *
 * @example
 * const result = await runFanOutRound({ stage, round: 3n, microbatches: 4, steps: 2, wire: "int8", replicas, data, head })
 */
export async function runFanOutRound(p: FanOutRoundParameters): Promise<ReplicatedRoundResult> {
  const { stage, round, microbatches, wire, prev } = p;
  const steps = p.steps ?? 1;
  const window = p.window ?? 2;
  const replicaTimeoutMs = p.replicaTimeoutMs ?? 300_000;
  const isFirst = stage.index === 0;
  if (stage.index === stage.count - 1) throw new Error("the last stage has no next stage to fan out to");
  if (isFirst && (!p.data || !p.head)) throw new Error("stage 0 needs the deterministic data and the pipeline's head address");
  if (!isFirst && !prev) throw new Error(`stage ${stage.index} needs a link to stage ${stage.index - 1}`);
  const timings = emptyTimings();
  const start = now();
  const live = new Set(p.replicas);
  const lost: Address[] = [];
  const routed = new Map<Address, number>();
  const records: RoutedRecord[] = [];
  const stepWeights: StepWeights[] = [];
  const workerOf = (link: PipeLink): Address => link.peerWorker ?? zeroAddress;
  const throughput = p.throughput ?? new ReplicaThroughput();
  const sentThisRound = new Map<PipeLink, number>();
  const lastAnswer = new Map<PipeLink, number>();
  let idleLastStep: Address[] = [];

  for (let k = 0; k < steps; k++) {
    const weights = stage.exportWeights();
    const stepRoot: Hex = fastWeightsRoot(weights);
    stepWeights.push({ step: k, root: stepRoot, weights });
    throughput.relax(idleLastStep);
    const first = k * microbatches;
    const queue = Array.from({ length: microbatches }, (_, i) => first + i);
    const payloads = new Map<number, { bytes: Uint8Array; record: Partial<RoutedRecord>; tensors: tf.Tensor[] }>();
    const inflight = new Map<PipeLink, Map<number, InFlight>>([...live].map((l) => [l, new Map()]));
    const kept = new Map<PipeLink, number[]>([...live].map((l) => [l, []]));
    let done = 0;
    // The upstream's next activation, awaited alongside the gradients: an upstream running 1F1B
    // sends microbatch m+w only after it got m's gradient, so blocking on it here would deadlock.
    type Arriving = { m: number; frame?: Frame; wait: Promise<void> };
    let arriving: Arriving | undefined;
    const arrived = (m: number): boolean => isFirst || payloads.has(m) || (arriving?.m === m && arriving.frame !== undefined);
    const expect = (m: number): void => {
      if (arriving?.m === m) return;
      const a: Arriving = {
        m,
        wait: (prev as PipeLink).receive("activation", round, m).then((frame) => {
          a.frame = frame;
        }),
      };
      a.wait.catch(() => undefined); // raced below; a failure is the round's
      arriving = a;
    };

    const drop = (link: PipeLink, error: Error): void => {
      if (!live.delete(link)) return;
      lost.push(workerOf(link));
      link.drop(error);
      const held = inflight.get(link);
      if (held) queue.unshift(...[...held.keys()].sort((a, b) => a - b));
      inflight.delete(link);
      kept.delete(link);
      armedGradients.delete(link);
    };

    /** Forward once per microbatch; a re-route resends the same bytes. */
    const forward = async (m: number): Promise<Uint8Array> => {
      const ready = payloads.get(m);
      if (ready) return ready.bytes;
      let input: tf.Tensor;
      let inputActHash: Hex;
      let targetBytes: Uint8Array;
      const own: tf.Tensor[] = [];
      if (isFirst) {
        const batch = (p.data as MicrobatchSource)(p.head as Address, round, m);
        input = batch.ids;
        inputActHash = hashTokenIds(batch.ids.shape, batch.ids.dataSync() as Int32Array);
        targetBytes = encodeTargets(batch.targets.shape, batch.targets.dataSync() as Int32Array);
        own.push(batch.ids, batch.targets);
      } else {
        const frame = arriving?.m === m ? arriving.frame : undefined;
        if (!frame) throw new Error(`microbatch ${m} forwarded before its activation arrived`);
        arriving = undefined;
        const decoded = decodeActivationPayload(frame.payload);
        input = tf.tensor(decoded.values, decoded.shape, "float32");
        inputActHash = decoded.hash;
        targetBytes = decoded.targets.bytes;
        own.push(input);
      }
      const t1 = now();
      const output = stage.forward(m, input);
      output.dataSync();
      timings.forwardMs += now() - t1;
      const sent = encodeActivationPayload(output.shape, output.dataSync() as Float32Array, wire, targetBytes);
      // The stage may keep references to its input until backward (as runner.ts does).
      payloads.set(m, {
        bytes: sent.bytes,
        tensors: [...own, output],
        record: {
          index: m,
          weightsRoot: stepRoot,
          inputActHash,
          outputActHash: sent.hash,
          upstream: isFirst ? zeroAddress : ((prev as PipeLink).peerWorker ?? zeroAddress),
        },
      });
      return sent.bytes;
    };

    const backward = async (link: PipeLink, m: number, gradient: Uint8Array): Promise<void> => {
      const decoded = decodeWireTensor(gradient);
      const outputGrad = tf.tensor(decoded.values, decoded.shape, "float32");
      const t0 = now();
      const result = stage.backward(m, outputGrad);
      timings.backwardMs += now() - t0;
      outputGrad.dispose();
      let inputGradHash: Hex = zeroHash;
      if (!isFirst) {
        const inputGrad = result.inputGrad as tf.Tensor;
        const wireTensor = encodeWireTensor(inputGrad.shape, inputGrad.dataSync() as Float32Array, wire);
        inputGrad.dispose();
        inputGradHash = wireTensor.hash;
        await (prev as PipeLink).send({ kind: "gradient", round, microbatch: m, payload: wireTensor.bytes });
      }
      const { record: partial, tensors } = payloads.get(m) as { record: Partial<RoutedRecord>; tensors: tf.Tensor[] };
      tf.dispose(tensors);
      records.push({
        ...(partial as RoutedRecord),
        upstreamGradHash: decoded.hash,
        inputGradHash,
        parameterGradient: result.parameterGradient,
        downstream: workerOf(link),
      });
      (kept.get(link) as number[]).push(m);
      routed.set(workerOf(link), (routed.get(workerOf(link)) ?? 0) + 1);
    };

    while (done < microbatches) {
      // Fill every live replica's free slots, the least loaded first.
      for (;;) {
        if (live.size === 0) throw new NoReplicaLeftError({ stage: stage.index, round });
        const next = queue[0];
        if (next === undefined) break;
        const target = pickReplica(
          [...live].map((link) => ({
            link,
            worker: workerOf(link),
            held: inflight.get(link)?.size ?? 0,
            routed: sentThisRound.get(link) ?? 0,
          })),
          window,
          throughput,
        );
        if (!target) break;
        const held = inflight.get(target) as Map<number, InFlight>;
        if (!arrived(next)) {
          expect(next);
          break;
        }
        queue.shift();
        const bytes = await forward(next);
        try {
          await target.send({ kind: "activation", round, microbatch: next, payload: bytes });
          held.set(next, { payload: bytes, sentAt: now() });
          sentThisRound.set(target, (sentThisRound.get(target) ?? 0) + 1);
        } catch (err) {
          queue.unshift(next);
          drop(target, err as Error);
        }
      }
      for (const link of live) {
        if (!armedGradients.has(link))
          armedGradients.set(
            link,
            link.receiveNext("gradient").then(
              (frame) => ({ link, frame }),
              (error: Error) => ({ link, error }),
            ),
          );
      }
      const t0 = now();
      const sentAts = [...inflight.values()].flatMap((h) => [...h.values()].map((f) => f.sentAt));
      const waitMs = sentAts.length ? Math.max(1, Math.min(...sentAts) + replicaTimeoutMs - now()) : replicaTimeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), waitMs)));
      const activation = arriving && !arriving.frame ? [arriving.wait.then(() => "activation" as const)] : [];
      const got = await Promise.race([...[...live].map((l) => armedGradients.get(l) as Armed), timeout, ...activation]);
      clearTimeout(timer);
      timings.idleMs += now() - t0;
      if (got === "activation") continue;
      if (got === "timeout") {
        for (const [link, held] of inflight)
          if ([...held.values()].some((f) => now() - f.sentAt >= replicaTimeoutMs))
            drop(link, new Error(`replica ${workerOf(link)} held a microbatch over ${replicaTimeoutMs} ms`));
        continue;
      }
      armedGradients.delete(got.link);
      if (got.error || !got.frame) {
        drop(got.link, got.error ?? new Error("link ended"));
        continue;
      }
      const held = inflight.get(got.link);
      const m = got.frame.microbatch;
      // A gradient for a microbatch this replica no longer holds (another round, or re-routed) is stale.
      if (!live.has(got.link) || got.frame.round !== round || !held?.has(m)) continue;
      const answeredAt = now();
      const flight = held.get(m) as InFlight;
      throughput.observe(workerOf(got.link), answeredAt - Math.max(flight.sentAt, lastAnswer.get(got.link) ?? 0));
      lastAnswer.set(got.link, answeredAt);
      held.delete(m);
      await backward(got.link, m, got.frame.payload);
      done++;
    }
    const t1 = now();
    stage.step();
    timings.stepMs += now() - t1;
    idleLastStep = [...live].filter((l) => (kept.get(l)?.length ?? 0) === 0).map(workerOf);
    for (const link of [...live]) {
      try {
        await link.send({
          kind: "hello",
          round,
          microbatch: STEP_MARK + k,
          payload: encodeStepMark((kept.get(link) ?? []).sort((a, b) => a - b)),
        });
      } catch (err) {
        drop(link, err as Error);
      }
    }
  }
  // Each replica reports its round-end root; every one that did gets the same roster back.
  const roster: RosterEntry[] = [];
  for (const link of [...live]) {
    try {
      const frame = await link.receive("hello", round, ROUND_END, replicaTimeoutMs);
      const body = JSON.parse(decoder.decode(frame.payload)) as { root?: string; items?: number };
      if (typeof body.root !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(body.root) || !Number.isInteger(body.items))
        throw new Error("round end without a root");
      roster.push({ worker: workerOf(link), root: body.root as Hex, items: body.items as number });
    } catch (err) {
      live.delete(link);
      lost.push(workerOf(link));
      link.drop(err as Error);
    }
  }
  for (const link of [...live])
    await link.send({ kind: "hello", round, microbatch: ROSTER, payload: encodeJson({ roster }) }).catch((err: Error) => link.drop(err));
  // The held-out batch goes to the roster's first replica, forward only, on this stage's round-end weights.
  const evaluator = [...live].find((l) => workerOf(l) === roster[0]?.worker);
  for (let e = 0; e < (p.evaluation?.microbatches ?? 0); e++) {
    const m = steps * microbatches + e;
    let input: tf.Tensor;
    let targetBytes: Uint8Array;
    if (isFirst) {
      const batch = (p.evaluation?.data as (e: number) => { ids: tf.Tensor; targets: tf.Tensor })(e);
      input = batch.ids;
      targetBytes = encodeTargets(batch.targets.shape, batch.targets.dataSync() as Int32Array);
      batch.targets.dispose();
    } else {
      const decoded = decodeActivationPayload((await (prev as PipeLink).receive("activation", round, m)).payload);
      input = tf.tensor(decoded.values, decoded.shape, "float32");
      targetBytes = decoded.targets.bytes;
    }
    const output = stage.infer(input);
    const sent = encodeActivationPayload(output.shape, output.dataSync() as Float32Array, wire, targetBytes);
    tf.dispose([input, output]);
    await evaluator?.send({ kind: "activation", round, microbatch: m, payload: sent.bytes }).catch((err: Error) => evaluator.drop(err));
  }
  timings.wallMs = now() - start;
  timings.busyMs = timings.wallMs - timings.idleMs;
  return {
    round,
    stage: stage.index,
    records: records.sort((a, b) => a.index - b.index),
    losses: [],
    stepWeights,
    bytesSent: 0,
    bytesReceived: 0,
    timings,
    routed,
    lost,
    roster,
  };
}

/** The link's next activation frame, through the one armed receive (or the early frame a skipped round left). */
function nextActivation(prev: PipeLink): Promise<Frame> {
  const early = earlyActivations.get(prev);
  if (early) {
    earlyActivations.delete(prev);
    return Promise.resolve(early);
  }
  let activation = armedActivations.get(prev);
  if (!activation) {
    activation = prev.receiveNext("activation");
    activation.catch(() => undefined); // a link that fails while nobody waits fails the next receive too
    armedActivations.set(prev, activation);
  }
  return activation;
}

/**
 * The held-out loss of the combined weights, on the evaluation frames the fan-out stage sends the
 * roster's first replica after the round (`count` of them, microbatches `first ..`).
 *
 * @example
 * const evalLoss = await evaluateAsReplica({ stage, round, prev, first: 8, count: 4 })
 */
export async function evaluateAsReplica(p: {
  stage: PipelineStage;
  round: bigint;
  prev: PipeLink;
  first: number;
  count: number;
}): Promise<number | undefined> {
  const losses: number[] = [];
  while (losses.length < p.count) {
    const frame = await nextActivation(p.prev);
    armedActivations.delete(p.prev);
    if (frame.round !== p.round || frame.microbatch < p.first) continue;
    const decoded = decodeActivationPayload(frame.payload);
    const input = tf.tensor(decoded.values, decoded.shape, "float32");
    const targets = tf.tensor(decoded.targets.ids, decoded.targets.shape, "int32");
    const logits = p.stage.infer(input);
    const vocab = logits.shape[logits.shape.length - 1] as number;
    losses.push(tf.tidy(() => crossEntropy(tf.reshape(logits, [-1, vocab]), targets).dataSync()[0] as number));
    tf.dispose([input, targets, logits]);
  }
  return losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : undefined;
}

export type ReplicaRoundParameters = {
  /** The last stage's shard. */
  stage: PipelineStage;
  round: bigint;
  steps?: number | undefined;
  wire: WireFormat;
  /** The link from stage s-1, which routes microbatches here. */
  prev: PipeLink;
  /** Called once, when the round's first microbatch arrives (the round is under way here). */
  onFirstMicrobatch?: ((microbatch: number) => void) | undefined;
};

/**
 * One training round of a replica of the last stage: takes whichever microbatches its upstream
 * routes here, runs forward, loss and backward on each and answers with the input gradient; at
 * each step marker it drops the microbatches its upstream did not keep from it (re-routed after a
 * timeout) and steps on the rest. Only kept microbatches are returned, so only those are committed.
 *
 * @example
 * const result = await runReplicaRound({ stage, round: 3n, steps: 2, wire: "int8", prev })
 */
export async function runReplicaRound(p: ReplicaRoundParameters): Promise<ReplicatedRoundResult> {
  const { stage, round, wire, prev } = p;
  const steps = p.steps ?? 1;
  if (stage.index !== stage.count - 1) throw new Error("only the last stage runs as a routed replica");
  const timings = emptyTimings();
  const start = now();
  const upstream = prev.peerWorker ?? zeroAddress;
  const records: RoutedRecord[] = [];
  const losses = new Map<number, number>();
  const stepWeights: StepWeights[] = [];
  for (let k = 0; k < steps; k++) {
    const weights = stage.exportWeights();
    const stepRoot: Hex = fastWeightsRoot(weights);
    stepWeights.push({ step: k, root: stepRoot, weights });
    const mine = new Map<number, RoutedRecord>();
    const mark = prev.receive("hello", round, STEP_MARK + k);
    mark.catch(() => undefined); // observed by the race below; a failure after the step ends is the next call's
    for (;;) {
      const activation = nextActivation(prev);
      const t0 = now();
      const got = await Promise.race([activation.then((frame) => ({ frame })), mark.then((frame) => ({ mark: frame }))]);
      timings.idleMs += now() - t0;
      if ("mark" in got) {
        const keep = new Set(decodeStepMark(got.mark.payload));
        for (const m of mine.keys()) if (!keep.has(m)) stage.discard(m);
        for (const [m, record] of mine) if (keep.has(m)) records.push(record);
        break;
      }
      armedActivations.delete(prev);
      const m = got.frame.microbatch;
      if (got.frame.round < round) continue;
      if (got.frame.round > round) {
        // The upstream is past this round: nothing of it was routed here (joined after it began).
        if (k > 0 || mine.size > 0) throw new Error(`round ${got.frame.round} began before round ${round}'s step ${k} marker`);
        earlyActivations.set(prev, got.frame);
        return {
          round,
          stage: stage.index,
          records: [],
          losses: [],
          stepWeights,
          bytesSent: 0,
          bytesReceived: 0,
          timings,
          routed: new Map(),
          lost: [],
          roster: [],
        };
      }
      if (records.length === 0 && mine.size === 0 && k === 0) p.onFirstMicrobatch?.(m);
      stage.discard(m); // a microbatch sent here again replaces what it left
      const decoded = decodeActivationPayload(got.frame.payload);
      const input = tf.tensor(decoded.values, decoded.shape, "float32");
      const targets = tf.tensor(decoded.targets.ids, decoded.targets.shape, "int32");
      const t1 = now();
      const output = stage.forward(m, input, targets);
      const loss = (output.dataSync() as Float32Array)[0] as number;
      timings.forwardMs += now() - t1;
      const t2 = now();
      const result = stage.backward(m, undefined);
      timings.backwardMs += now() - t2;
      tf.dispose([input, targets, output]);
      const inputGrad = result.inputGrad as tf.Tensor;
      const wireTensor = encodeWireTensor(inputGrad.shape, inputGrad.dataSync() as Float32Array, wire);
      inputGrad.dispose();
      await prev.send({ kind: "gradient", round, microbatch: m, payload: wireTensor.bytes });
      losses.set(m, loss);
      mine.set(m, {
        index: m,
        inputActHash: decoded.hash,
        outputActHash: hashScalarLoss(loss),
        upstreamGradHash: zeroHash,
        inputGradHash: wireTensor.hash,
        parameterGradient: result.parameterGradient,
        weightsRoot: stepRoot,
        upstream,
        downstream: zeroAddress,
      });
    }
    const t3 = now();
    stage.step();
    timings.stepMs += now() - t3;
  }
  records.sort((a, b) => a.index - b.index);
  // Report this replica's round end (weights before combining, microbatches kept) and learn who else finished.
  const endWeights = stage.exportWeights();
  await prev.send({
    kind: "hello",
    round,
    microbatch: ROUND_END,
    payload: encodeJson({ root: fastWeightsRoot(endWeights), items: records.length }),
  });
  const roster = decodeRoster((await prev.receive("hello", round, ROSTER)).payload);
  timings.wallMs = now() - start;
  timings.busyMs = timings.wallMs - timings.idleMs;
  return {
    round,
    stage: stage.index,
    records,
    losses: records.map((r) => losses.get(r.index) as number),
    stepWeights,
    bytesSent: 0,
    bytesReceived: 0,
    timings,
    routed: new Map(),
    lost: [],
    roster,
    endWeights,
  };
}

/** One replica's weights at the end of a round, and how many microbatches it trained in it. */
export type ReplicaWeights = { worker: Address; weights: Float32Array; items: number };

/**
 * The weights every replica of a stage starts the next round from: the mean of the replicas'
 * round-end weights weighted by the microbatches each trained, summed in float64 in ascending
 * worker address order and rounded to float32 once, so every replica computes the same bits
 * (and so the same `weightsRootAfter`). A replica that trained nothing counts for nothing.
 *
 * @example
 * const combined = combineReplicaWeights([{ worker: a, weights: wa, items: 5 }, { worker: b, weights: wb, items: 3 }])
 */
export function combineReplicaWeights(replicas: readonly ReplicaWeights[]): Float32Array {
  const counted = [...replicas].filter((r) => r.items > 0).sort((a, b) => (BigInt(a.worker) < BigInt(b.worker) ? -1 : 1));
  const first = counted[0];
  if (!first) throw new Error("no replica trained anything this round");
  const n = first.weights.length;
  if (counted.some((r) => r.weights.length !== n)) throw new Error("replicas' weights differ in length");
  const total = counted.reduce((a, r) => a + r.items, 0);
  const sum = new Float64Array(n);
  for (const r of counted) for (let i = 0; i < n; i++) (sum[i] as number) += (r.weights[i] as number) * r.items;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (sum[i] as number) / total;
  return out;
}
