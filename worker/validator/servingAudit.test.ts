import { type Hex, keccak256, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditServed,
  bfloat16,
  type ServedRequest,
  SERVING_STRATEGIES,
  serveLocally,
  type ServingTamper,
} from "../../dev/validator/servingCheats.ts";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import { requestSamplingSeed, samplingHash } from "../../sdk/protocol/serving.ts";
import { selectBackend } from "../backend/select.ts";
import { decodingModel, type SamplingParameters } from "../model/generate.ts";
import { defaultModelSpec } from "../model/spec.ts";
import { createStage, type PipelineStage } from "../model/stage.ts";

// Three stages serve a prompt the way the serving pipeline does (dev/validator/servingCheats.ts); each
// stage's trace and commitment are then audited as a validator of that stage would, for the honest run
// and for each planted serving cheat.
const spec = defaultModelSpec({ dModel: 16, heads: 2, layers: 3, dFeedForward: 32, contextLength: 8, microbatchSize: 2, stageCount: 3 });
const model = decodingModel(spec);
const REQUEST = 42n;
const PROMPT = Array.from(model.tokenizer.encode("The jury"));
const POSITIONS = 6;
const TOLERANCE = 1e-4;

type Served = ServedRequest;

let stages: PipelineStage[];
let roots: Hex[];
let old: PipelineStage[];
let sampling: SamplingParameters;

function serve(promptIds: readonly number[], tamper?: ServingTamper): Served {
  return serveLocally({ stages, roots, model, promptIds, positions: POSITIONS, requestId: REQUEST, sampling, tamper });
}

function audit(served: Served, s: number) {
  return auditServed({ stages, roots, model, promptIds: PROMPT, requestId: REQUEST, sampling }, served, s, TOLERANCE);
}

beforeAll(async () => {
  await selectBackend({});
  old = [0, 1, 2].map((s) => createStage(spec, s));
  stages = [0, 1, 2].map((s) => createStage(spec, s));
  // "current" weights: the initial ones moved by a fixed step, so the initial ones are an older checkpoint
  for (const stage of stages) {
    const w = stage.exportWeights();
    stage.importWeights(w.map((v, i) => v + 0.05 * Math.sin(i + 1)));
  }
  roots = stages.map((st) => weightsRoot(st.exportWeights()));
  sampling = { seed: requestSamplingSeed(REQUEST, keccak256(toHex("The jury"))), temperature: 0.8, topK: 8 };
});

afterAll(() => {
  for (const st of [...stages, ...old]) st.dispose();
});

describe("serving audit: a validator re-executes a stage's trace", () => {
  it("passes every stage of an honest request", () => {
    const served = serve(PROMPT);
    for (const s of [0, 1, 2]) expect(audit(served, s)).toMatchObject({ ok: true, positions: POSITIONS });
  });

  it("catches an older checkpoint, whether it names the current root or its own", () => {
    const served = serve(PROMPT, { stage: 1, run: (x) => (old[1] as PipelineStage).infer(x) });
    expect(audit(served, 1)).toMatchObject({ ok: false, position: 0 });
    const named = {
      ...served,
      commitments: served.commitments.map((c, s) => (s === 1 ? { ...c, weightsRoot: weightsRoot(old[1]!.exportWeights()) } : c)),
    };
    expect(audit(named, 1)).toMatchObject({ ok: false, reason: "served weights other than the stage's current ones" });
    // the honest neighbours are not blamed
    expect(audit(served, 2).ok).toBe(true);
  });

  it("catches a truncated model (a layer skipped)", () => {
    const served = serve(PROMPT, { stage: 1, run: (x) => x.clone() });
    expect(audit(served, 1)).toMatchObject({ ok: false, position: 0 });
  });

  it("catches reduced precision (bfloat16)", () => {
    const served = serve(PROMPT, {
      stage: 0,
      run: (x, honest) => {
        const y = honest.infer(x);
        const low = bfloat16(y);
        y.dispose();
        return low;
      },
    });
    const verdict = audit(served, 0);
    expect(verdict.ok).toBe(false);
  });

  it("catches another prompt", () => {
    const served = serve(PROMPT, { stage: 0, promptIds: Array.from(model.tokenizer.encode("A cat sat")) });
    expect(audit(served, 0)).toMatchObject({ ok: false, position: 0 });
  });

  it("catches another sampling seed", () => {
    const other = { ...sampling, seed: keccak256(toHex("a seed the operator liked better")) };
    const served = serve(PROMPT, { stage: 2, sampling: other });
    const verdict = audit(served, 2);
    expect(verdict.ok).toBe(false);
    // committing the seed it used instead is caught before any re-execution
    const named = { ...served, commitments: served.commitments.map((c, s) => (s === 2 ? { ...c, sampling: samplingHash(other) } : c)) };
    expect(audit(named, 2)).toMatchObject({ ok: false, reason: "sampled with terms or a seed other than the request's" });
  });

  it("catches an output copied from another request, and blames no honest stage", () => {
    const other = serve(Array.from(model.tokenizer.encode("Another prompt")));
    const copied = SERVING_STRATEGIES.find((st) => st.name === "copiedOutput")!;
    const served = serve(PROMPT, copied.tamper({ older: old, model, sampling, stageCount: 3, other }));
    expect(audit(served, 1)).toMatchObject({ ok: false, position: 0 });
    expect(audit(served, 0).ok).toBe(true);
    expect(audit(served, 2).ok).toBe(true);
  });

  it("refuses outputs that are not the committed ones, and inputs that are not the upstream's", () => {
    const served = serve(PROMPT);
    const swapped = { ...served, traces: served.traces.map((t, s) => (s === 1 ? { ...t, outputs: [...t.outputs].reverse() } : t)) };
    expect(audit(swapped, 1)).toMatchObject({ ok: false, reason: "the outputs served are not the committed ones" });
    const fedOther = { ...served, traces: served.traces.map((t, s) => (s === 2 ? { ...t, inputs: [...(t.inputs ?? [])].reverse() } : t)) };
    expect(audit(fedOther, 2)).toMatchObject({ ok: false, reason: "the inputs are not the upstream's committed outputs" });
  });
});
