// A validator's re-execution of what one stage served for one inference request (docs/PROTOCOL.md
// "Verified inference", "Audits"): the stage's committed outputs, position by position, against its
// own run of the stage's current weights on the committed inputs, with the training tolerance.
import * as tf from "@tensorflow/tfjs";
import { type Hex, keccak256 } from "viem";
import { type ServingCommitment, samplingHash, servingOutputsTree } from "../../sdk/protocol/serving.ts";
import { type DecodingModel, nextToken, type SamplingParameters, tokenWindow } from "../model/generate.ts";
import type { PipelineStage } from "../model/stage.ts";
import { decodeWireTensor } from "../p2p/wire.ts";
import { decodeTokenPayload } from "../serve/pipelineServe.ts";
import { relativeL2 } from "./tolerance.ts";

/** The bytes behind one stage's commitment of one request, as its operator serves them (hash checked here). */
export type ServingTrace = {
  /** Stage > 0: the payload received at each position (they must be the upstream's committed outputs). */
  inputs?: readonly Uint8Array[] | undefined;
  /** The payload sent at each position: activations, or the last stage's 4-byte token. */
  outputs: readonly Uint8Array[];
};

/** What the audit needs besides the trace. */
export type ServingAuditContext = {
  requestId: bigint;
  /** The audited stage, with the validator's copy of the stage's current weights loaded. */
  stage: PipelineStage;
  stageCount: number;
  /** Root of those weights: a commitment naming other weights served another model. */
  weightsRoot: Hex;
  commitment: ServingCommitment;
  /** Stage > 0: the upstream stage's commitment of the same request (its outputs are this stage's inputs). */
  upstream?: ServingCommitment | undefined;
  /** Stage 0: the prompt's token ids (hashing to the request's input); every stage: the generated ids (from the fulfilled text). */
  promptIds?: readonly number[] | undefined;
  generatedIds: readonly number[];
  model: DecodingModel;
  /** Last stage: temperature and top-k it committed to (`sampling`), with the request's seed. */
  sampling?: SamplingParameters | undefined;
  /** Relative L2 tolerance on activations (the calibrated `outputActivation` tolerance). */
  tolerance: number;
};

/** The audit's finding: `ok`, or the first position (if any) where the stage is provably wrong and why. */
export type ServingAuditVerdict =
  { ok: true; positions: number; computeMs: number } | { ok: false; reason: string; position?: number | undefined; computeMs: number };

const hashes = (payloads: readonly Uint8Array[]) => payloads.map((p) => keccak256(p));

/**
 * Re-executes every position of a stage's serving trace. Fails on the first of: weights other than
 * the stage's current ones, sampling other than the request's, outputs that are not the committed
 * ones, inputs that are not the upstream's committed outputs, an activation off by more than the
 * tolerance, a token the request's seed does not draw, or tokens that do not spell the fulfilled text.
 *
 * @example
 * const verdict = auditServingTrace(trace, { requestId, stage, stageCount: 3, weightsRoot, commitment, generatedIds, model, tolerance: 2e-2 })
 */
export function auditServingTrace(trace: ServingTrace, ctx: ServingAuditContext): ServingAuditVerdict {
  const started = performance.now();
  const fail = (reason: string, position?: number): ServingAuditVerdict => ({
    ok: false,
    reason,
    position,
    computeMs: performance.now() - started,
  });
  const { commitment, stage } = ctx;
  const last = stage.index === ctx.stageCount - 1;
  if (commitment.weightsRoot.toLowerCase() !== ctx.weightsRoot.toLowerCase())
    return fail("served weights other than the stage's current ones");
  if (last && ctx.sampling && commitment.sampling.toLowerCase() !== samplingHash(ctx.sampling).toLowerCase())
    return fail("sampled with terms or a seed other than the request's");
  const positions = commitment.positions;
  if (positions !== ctx.generatedIds.length)
    return fail(`committed ${positions} positions for a text of ${ctx.generatedIds.length} tokens`);
  if (trace.outputs.length !== positions || servingOutputsTree(hashes(trace.outputs)).root !== commitment.outputsRoot)
    return fail("the outputs served are not the committed ones");
  if (stage.index > 0) {
    if (!ctx.upstream || !trace.inputs || trace.inputs.length !== positions) return fail("no input for every position");
    if (servingOutputsTree(hashes(trace.inputs)).root !== ctx.upstream.outputsRoot)
      return fail("the inputs are not the upstream's committed outputs");
  }
  for (let p = 0; p < positions; p++) {
    const finding = auditPosition(trace, ctx, p, last);
    if (finding) return fail(finding, p);
  }
  return { ok: true, positions, computeMs: performance.now() - started };
}

/** One position: undefined when it re-executes within tolerance, else what is wrong. */
function auditPosition(trace: ServingTrace, ctx: ServingAuditContext, p: number, last: boolean): string | undefined {
  const x =
    ctx.stage.index === 0
      ? tokenWindow(ctx.model, [...(ctx.promptIds ?? []), ...ctx.generatedIds.slice(0, p)])
      : inputTensor(trace.inputs?.[p] as Uint8Array);
  const y = ctx.stage.infer(x);
  x.dispose();
  try {
    const sent = trace.outputs[p] as Uint8Array;
    if (last) {
      const committed = decodeTokenPayload(sent);
      if (committed !== ctx.generatedIds[p]) return `the token sent (${committed}) is not the text's (${ctx.generatedIds[p]})`;
      const drawn = nextToken(y, ctx.sampling, ctx.requestId, p);
      return drawn === committed ? undefined : `re-executed, the request's draw is token ${drawn}, not ${committed}`;
    }
    const { shape, values } = decodeWireTensor(sent);
    if (shape.join() !== y.shape.join()) return `sent shape [${shape.join()}], re-executed [${y.shape.join()}]`;
    const distance = relativeL2(values, y.dataSync() as Float32Array);
    return distance <= ctx.tolerance ? undefined : `activation off by ${distance.toExponential(2)} (tolerance ${ctx.tolerance})`;
  } finally {
    y.dispose();
  }
}

function inputTensor(payload: Uint8Array): tf.Tensor {
  const { shape, values } = decodeWireTensor(payload);
  return tf.tensor(values, shape, "float32");
}
