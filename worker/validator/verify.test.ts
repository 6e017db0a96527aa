import * as tf from "@tensorflow/tfjs";
import { type Address, type Hex, keccak256, zeroAddress, zeroHash } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradRoot, type MicrobatchItem, weightsRoot } from "../../sdk/protocol/index.ts";
import { defaultModelSpec } from "../model/spec.ts";
import { createStage } from "../model/stage.ts";
import { type ContentKind, float32Bytes } from "../p2p/content.ts";
import { ContentUnavailableError } from "../p2p/contentProtocol.ts";
import { encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import { decodeActivationPayload, encodeActivationPayload, encodeTargets, encodeWireTensor } from "../p2p/wire.ts";
import { type ItemOutputs, Reexecutor, transformerData } from "./reexecute.ts";
import { TOLERANCE_FLOOR } from "./tolerance.ts";
import { verifyItem } from "./verify.ts";

// Three stages, so there is a middle stage that forwards targets it neither drew nor uses.
const spec = defaultModelSpec({ dModel: 16, heads: 2, layers: 3, dFeedForward: 32, contextLength: 8, microbatchSize: 2, stageCount: 3 });
const MODEL_ID = 1n;
const ROUND = 4n;
const INDEX = 1;
const HEAD: Address = "0x00000000000000000000000000000000000000aa";
const COPIER: Address = "0x00000000000000000000000000000000000000bb";
/** The neighbours an honest leaf names: its stage-(s-1) and stage-(s+1) workers. */
const UPSTREAM: Address = "0x00000000000000000000000000000000000000cc";
const DOWNSTREAM: Address = "0x00000000000000000000000000000000000000dd";
const data = transformerData(spec, MODEL_ID);

/** What a miner serves: tensors and payloads by keccak256, weights and gradients by their roots. */
class Served {
  readonly #bytes = new Map<string, Uint8Array>();
  put(kind: ContentKind, key: Hex, bytes: Uint8Array): Hex {
    this.#bytes.set(`${kind}:${key}`, bytes);
    return key;
  }
  tensor(bytes: Uint8Array): Hex {
    return this.put("tensor", keccak256(bytes), bytes);
  }
  withhold(kind: ContentKind, key: Hex): void {
    this.#bytes.delete(`${kind}:${key}`);
  }
  readonly fetch = async (kind: ContentKind, key: Hex): Promise<Uint8Array> => {
    const bytes = this.#bytes.get(`${kind}:${key}`);
    if (!bytes) throw new ContentUnavailableError({ kind, key, reason: "not-found" });
    return bytes;
  };
}

let reexecutor: Reexecutor;
let weights: Float32Array[];
/** The upstream gradient every non-last stage is given (any committed input will do). */
let upstream: Uint8Array;

beforeAll(async () => {
  await tf.setBackend("cpu");
  reexecutor = new Reexecutor(spec);
  weights = spec.stages.map((_, s) => {
    const st = createStage(spec, s);
    const w = st.exportWeights();
    st.dispose();
    return w;
  });
  upstream = encodeWireTensor(
    [spec.microbatchSize, spec.contextLength, spec.dModel],
    new Float32Array(spec.microbatchSize * spec.contextLength * spec.dModel).fill(1e-3),
    "int8",
  ).bytes;
});
afterAll(() => reexecutor.dispose());

/**
 * Honest work of `stage` on `inputBytes` (stage 0: drawn for `head`) for microbatch `index`, served
 * and committed as a leaf at `slot` (default: the microbatch, as for a worker holding every one).
 */
function honestLeaf(
  served: Served,
  stage: number,
  head: Address,
  inputBytes: Uint8Array | undefined,
  { index = INDEX, slot = index, stepWeights: given }: { index?: number; slot?: number; stepWeights?: Float32Array } = {},
): { leaf: MicrobatchItem; out: ItemOutputs } {
  const stepWeights: Float32Array = given ?? (weights[stage] as Float32Array);
  const last = stage === spec.stages.length - 1;
  served.put("weights", weightsRoot(stepWeights), float32Bytes(stepWeights));
  const out = reexecutor.run({
    stageIndex: stage,
    round: ROUND,
    index,
    head,
    data,
    inputs: { weights: stepWeights, inputBytes, upstreamGradBytes: last ? undefined : upstream },
  });
  if (inputBytes) served.tensor(inputBytes);
  const upstreamGradHash = last ? zeroHash : served.tensor(upstream);
  const outputActHash = served.tensor(
    out.output ? out.output.bytes : encodeTensor({ dtype: "float32", shape: [], data: new Float32Array([out.loss as number]) }),
  );
  const inputGradHash = out.inputGrad ? served.tensor(out.inputGrad.bytes) : zeroHash;
  const grad = gradRoot(out.parameterGradient);
  served.put("gradient", grad, float32Bytes(out.parameterGradient));
  const links = { upstream: stage === 0 ? zeroAddress : UPSTREAM, downstream: last ? zeroAddress : DOWNSTREAM };
  return {
    leaf: {
      index: slot,
      microbatch: index,
      inputActHash: out.inputActHash,
      outputActHash,
      upstreamGradHash,
      inputGradHash,
      gradRoot: grad,
      weightsRoot: weightsRoot(stepWeights),
      ...links,
    },
    out,
  };
}

const verify = (served: Served, stage: number, leaf: MicrobatchItem, worker: Address) =>
  verifyItem({
    reexecutor,
    fetch: served.fetch,
    data,
    tolerance: TOLERANCE_FLOOR,
    round: ROUND,
    stage,
    stageCount: spec.stages.length,
    leaf,
    worker,
    weightsRootBefore: weightsRoot(weights[stage] as Float32Array),
    microbatchesPerStep: spec.microbatchesPerStep,
  });

describe("re-execution binds data to the pipeline's head and targets to the payload", () => {
  it("stage0Leaf_verifiesForItsOwnHead_butACopyUnderAnotherWorkerFails", async () => {
    const served = new Served();
    const { leaf } = honestLeaf(served, 0, HEAD, undefined);
    expect((await verify(served, 0, leaf, HEAD)).ok).toBe(true);
    // The copier commits the very same leaf (and serves the same content) under its own address.
    const copied = await verify(served, 0, leaf, COPIER);
    expect(copied.ok).toBe(false);
    expect(copied.ok ? "" : copied.reason).toMatch(/not the microbatch assigned/);
  });

  it("middleStage_forwardingAlteredTargets_failsReexecution_whileTheHonestForwardPasses", async () => {
    const served = new Served();
    const stage0 = honestLeaf(served, 0, HEAD, undefined).out.output?.bytes as Uint8Array;
    const { leaf, out } = honestLeaf(served, 1, HEAD, stage0);
    expect((await verify(served, 1, leaf, COPIER)).ok).toBe(true); // a middle stage's head is not its worker
    expect(decodeActivationPayload(out.output?.bytes as Uint8Array).targets.bytes).toEqual(decodeActivationPayload(stage0).targets.bytes);

    // Same activation, other targets: the committed output payload is not what it received.
    const sent = decodeActivationPayload(out.output?.bytes as Uint8Array);
    const altered = sent.targets.ids.map((id, i) => (i === 0 ? (id + 1) % spec.vocab.length : id));
    const tampered = encodeActivationPayload(sent.shape, sent.values, "int8", encodeTargets(sent.targets.shape, altered));
    const forged = { ...leaf, outputActHash: served.tensor(tampered.bytes) };
    const verdict = await verify(served, 1, forged, COPIER);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? "" : verdict.reason).toMatch(/other targets/);
  });

  it("lastStage_takesItsTargetsFromTheFetchedInputPayload", async () => {
    const served = new Served();
    const stage0 = honestLeaf(served, 0, HEAD, undefined).out.output?.bytes as Uint8Array;
    const stage1 = honestLeaf(served, 1, HEAD, stage0).out.output?.bytes as Uint8Array;
    const { leaf, out } = honestLeaf(served, 2, HEAD, stage1);
    expect((await verify(served, 2, leaf, COPIER)).ok).toBe(true);
    // The same activation with other targets gives another loss: the loss follows the payload's targets.
    const sent = decodeActivationPayload(stage1);
    const other = encodeActivationPayload(
      sent.shape,
      sent.values,
      "int8",
      encodeTargets(
        sent.targets.shape,
        sent.targets.ids.map((id) => (id + 1) % spec.vocab.length),
      ),
    );
    const again = reexecutor.run({
      stageIndex: 2,
      round: ROUND,
      index: INDEX,
      inputs: { weights: weights[2] as Float32Array, inputBytes: other.bytes },
    });
    expect(again.loss).not.toBe(out.loss);
    expect(Number.isFinite(again.loss)).toBe(true);
  });
});

describe("items of a round of many steps re-execute on the weights their step started from", () => {
  const M = spec.microbatchesPerStep;
  /** Stage weights a few optimizer steps into the round: what a later step's items ran on. */
  const later = (stage: number) => (weights[stage] as Float32Array).map((w, i) => w + 1e-2 * Math.sin(i));

  it("laterStepLeaf_namingTheWeightsItRanOn_passes_whileTheRoundStartWeightsWouldNot", async () => {
    const served = new Served();
    const { leaf } = honestLeaf(served, 0, HEAD, undefined, { index: 2 * M + 1, stepWeights: later(0) });
    expect(leaf.weightsRoot).not.toBe(weightsRoot(weights[0] as Float32Array));
    expect((await verify(served, 0, leaf, HEAD)).ok).toBe(true);
    // The same outputs claimed as computed on the round's start weights (served too) do not re-execute.
    served.put("weights", weightsRoot(weights[0] as Float32Array), float32Bytes(weights[0] as Float32Array));
    const claimedOnStart = await verify(served, 0, { ...leaf, weightsRoot: weightsRoot(weights[0] as Float32Array) }, HEAD);
    expect(claimedOnStart.ok).toBe(false);
    expect(claimedOnStart.ok ? "" : claimedOnStart.reason).toMatch(/differs/);
  });

  it("firstStepLeaf_namingOtherWeightsThanWeightsRootBefore_fails_evenIfItsOutputsMatchThem", async () => {
    const served = new Served();
    const { leaf } = honestLeaf(served, 1, HEAD, honestLeaf(served, 0, HEAD, undefined).out.output?.bytes, {
      index: M - 1,
      stepWeights: later(1),
    });
    const verdict = await verify(served, 1, leaf, HEAD);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? "" : verdict.reason).toMatch(/first step names weights/);
  });

  it("replicaLeaf_atALowSlot_isJudgedByItsMicrobatch_forTheFirstStepRule_andReexecution", async () => {
    const served = new Served();
    // A replica holding microbatch M + 1 (step 1) at slot 0: it ran on the weights step 1 started from.
    const { leaf } = honestLeaf(served, 0, HEAD, undefined, { index: M + 1, slot: 0, stepWeights: later(0) });
    expect((await verify(served, 0, leaf, HEAD)).ok).toBe(true);
    // Re-executed as its microbatch: the same leaf claiming another microbatch of the step draws other data.
    const other = await verify(served, 0, { ...leaf, microbatch: M + 2 }, HEAD);
    expect(other.ok).toBe(false);
    expect(other.ok ? "" : other.reason).toMatch(/not the microbatch assigned/);
    // A first-step microbatch at a high slot must still name weightsRootBefore.
    const high = honestLeaf(served, 0, HEAD, undefined, { index: M - 1, slot: 2 * M, stepWeights: later(0) }).leaf;
    const verdict = await verify(served, 0, high, HEAD);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? "" : verdict.reason).toMatch(new RegExp(`microbatch ${M - 1} of the round's first step names weights`));
  });

  it("laterStepLeaf_whoseWeightsAreNotServed_fails", async () => {
    const served = new Served();
    const { leaf } = honestLeaf(
      served,
      2,
      HEAD,
      honestLeaf(served, 1, HEAD, honestLeaf(served, 0, HEAD, undefined).out.output?.bytes).out.output?.bytes,
      { index: M, stepWeights: later(2) },
    );
    served.withhold("weights", leaf.weightsRoot);
    const verdict = await verify(served, 2, leaf, HEAD);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? "" : verdict.reason).toMatch(/not served/);
  });
});

describe("a leaf names its neighbours exactly where the pipeline has them", () => {
  it("nonZeroUpstreamAtStage0_zeroUpstreamBelowIt_orAWrongDownstreamAtEitherEnd_fails", async () => {
    const served = new Served();
    const first = honestLeaf(served, 0, HEAD, undefined);
    const middle = honestLeaf(served, 1, HEAD, first.out.output?.bytes);
    const last = honestLeaf(served, 2, HEAD, middle.out.output?.bytes);
    for (const [stage, leaf] of [
      [0, first.leaf],
      [1, middle.leaf],
      [2, last.leaf],
    ] as const)
      expect((await verify(served, stage, leaf, HEAD)).ok).toBe(true);
    for (const [stage, leaf, reason] of [
      [0, { ...first.leaf, upstream: UPSTREAM }, /upstream must be the zero address exactly on stage 0/],
      [0, { ...first.leaf, downstream: zeroAddress }, /downstream must be the zero address exactly on the last stage/],
      [1, { ...middle.leaf, upstream: zeroAddress }, /upstream must be the zero address exactly on stage 0/],
      [1, { ...middle.leaf, downstream: zeroAddress }, /downstream must be the zero address exactly on the last stage/],
      [2, { ...last.leaf, downstream: DOWNSTREAM }, /downstream must be the zero address exactly on the last stage/],
      [2, { ...last.leaf, upstream: zeroAddress }, /upstream must be the zero address exactly on stage 0/],
    ] as const) {
      const verdict = await verify(served, stage, leaf, HEAD);
      expect(verdict.ok, `stage ${stage}`).toBe(false);
      expect(verdict.ok ? "" : verdict.reason).toMatch(reason);
    }
  });
});
