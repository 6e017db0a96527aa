// Serving a prompt the way the serving pipeline does, in one process (float32 activations on the wire,
// the last stage drawing with the request's seed), honestly or with one stage cheating: what the serving
// audit's tests and `npm run bench:serving` plant and measure (docs/PROTOCOL.md "Verified inference").
import * as tf from "@tensorflow/tfjs";
import { type Hex, keccak256, toHex } from "viem";
import { NO_SAMPLING, samplingHash, type ServingCommitment, servingOutputsTree } from "../../sdk/protocol/serving.ts";
import { type DecodingModel, nextToken, type SamplingParameters, tokenWindow } from "../../worker/model/generate.ts";
import type { PipelineStage } from "../../worker/model/stage.ts";
import { decodeWireTensor, encodeWireTensor } from "../../worker/p2p/wire.ts";
import { encodeTokenPayload } from "../../worker/serve/pipelineServe.ts";
import { auditServingTrace, type ServingAuditVerdict, type ServingTrace } from "../../worker/validator/servingAudit.ts";

/** How one stage departs from honest serving. */
export type ServingTamper = {
  stage: number;
  /** Replaces the stage's computation of one position. */
  run?: ((x: tf.Tensor, honest: PipelineStage) => tf.Tensor) | undefined;
  /** Stage 0 serves this prompt instead of the request's. */
  promptIds?: readonly number[] | undefined;
  /** The last stage draws with these terms instead of the request's. */
  sampling?: SamplingParameters | undefined;
};

/** One served request: each stage's trace and commitment, and the generated ids. */
export type ServedRequest = { traces: ServingTrace[]; commitments: ServingCommitment[]; generatedIds: number[]; serveMs: number };

export type ServeParameters = {
  stages: readonly PipelineStage[];
  /** The stages' current weights roots (what an honest stage commits). */
  roots: readonly Hex[];
  model: DecodingModel;
  promptIds: readonly number[];
  positions: number;
  requestId: bigint;
  sampling: SamplingParameters;
  tamper?: ServingTamper | undefined;
};

/** Serves one request position by position through `stages`; `tamper` replaces one stage's computation. */
export function serveLocally(p: ServeParameters): ServedRequest {
  const started = performance.now();
  const { stages, tamper } = p;
  const traces: { inputs: Uint8Array[]; outputs: Uint8Array[] }[] = stages.map(() => ({ inputs: [], outputs: [] }));
  const generatedIds: number[] = [];
  const last = stages.length - 1;
  for (let position = 0; position < p.positions; position++) {
    const ids = tamper?.stage === 0 && tamper.promptIds ? tamper.promptIds : p.promptIds;
    let x: tf.Tensor = tokenWindow(p.model, [...ids, ...generatedIds]);
    for (const [s, stage] of stages.entries()) {
      const y = tamper?.stage === s && tamper.run ? tamper.run(x, stage) : stage.infer(x);
      x.dispose();
      if (s === last) {
        const token = nextToken(y, tamper?.stage === s && tamper.sampling ? tamper.sampling : p.sampling, p.requestId, position);
        y.dispose();
        traces[s]!.outputs.push(encodeTokenPayload(token));
        generatedIds.push(token);
        break;
      }
      const payload = encodeWireTensor(y.shape, y.dataSync() as Float32Array, "float32").bytes;
      y.dispose();
      traces[s]!.outputs.push(payload);
      traces[s + 1]!.inputs.push(payload);
      const { shape, values } = decodeWireTensor(payload);
      x = tf.tensor(values, shape, "float32");
    }
  }
  const commitments = traces.map((t, s): ServingCommitment => ({
    weightsRoot: p.roots[s] as Hex,
    sampling: s === last ? samplingHash(p.sampling) : NO_SAMPLING,
    outputsRoot: servingOutputsTree(t.outputs.map((o) => keccak256(o))).root,
    positions: p.positions,
  }));
  return { traces, commitments, generatedIds, serveMs: performance.now() - started };
}

/** Audits stage `s` of `served` as a validator of that stage holding the current weights would. */
export function auditServed(
  p: Omit<ServeParameters, "positions" | "tamper">,
  served: ServedRequest,
  s: number,
  tolerance: number,
): ServingAuditVerdict {
  return auditServingTrace(served.traces[s] as ServingTrace, {
    requestId: p.requestId,
    stage: p.stages[s] as PipelineStage,
    stageCount: p.stages.length,
    weightsRoot: p.roots[s] as Hex,
    commitment: served.commitments[s] as ServingCommitment,
    upstream: s > 0 ? served.commitments[s - 1] : undefined,
    promptIds: p.promptIds,
    generatedIds: served.generatedIds,
    model: p.model,
    sampling: p.sampling,
    tolerance,
  });
}

/** `t`'s values rounded to bfloat16 (8 bits of mantissa): a server computing at lower precision. */
export function bfloat16(t: tf.Tensor): tf.Tensor {
  const values = Float32Array.from(t.dataSync() as Float32Array);
  const bits = new Uint32Array(values.buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = (bits[i] as number) & 0xffff0000;
  return tf.tensor(values, t.shape);
}

/**
 * A planted serving cheat: which stage cheats, how, and whether it names the weights or sampling it
 * really used in its commitment (caught without re-execution) or the honest ones (caught by it).
 */
export type ServingStrategy = {
  name: string;
  describe: string;
  stage: (stageCount: number) => number;
  tamper: (ctx: StrategyContext) => ServingTamper;
};

/** What a strategy may draw on: older weights, the model, the request's sampling, and an honest run of another request. */
export type StrategyContext = {
  older: readonly PipelineStage[];
  model: DecodingModel;
  sampling: SamplingParameters;
  stageCount: number;
  other: ServedRequest;
};

const middle = (n: number) => Math.min(1, n - 1);

/** The serving cheats of issue #16, each by one stage. */
export const SERVING_STRATEGIES: readonly ServingStrategy[] = [
  {
    name: "olderCheckpoint",
    describe: "serves the stage's previous weights while committing the current root",
    stage: middle,
    tamper: ({ older, stageCount }) => ({ stage: middle(stageCount), run: (x) => (older[middle(stageCount)] as PipelineStage).infer(x) }),
  },
  {
    name: "layerSkipped",
    describe: "skips its transformer block (passes the activation through)",
    stage: middle,
    tamper: ({ stageCount }) => ({ stage: middle(stageCount), run: (x) => x.clone() }),
  },
  {
    name: "bfloat16",
    describe: "computes at bfloat16 precision (8-bit mantissa)",
    stage: () => 0,
    tamper: () => ({
      stage: 0,
      run: (x, honest) => {
        const y = honest.infer(x);
        const low = bfloat16(y);
        y.dispose();
        return low;
      },
    }),
  },
  {
    name: "otherPrompt",
    describe: "stage 0 runs another prompt than the request's",
    stage: () => 0,
    tamper: ({ model }) => ({ stage: 0, promptIds: Array.from(model.tokenizer.encode("A cheaper prompt")) }),
  },
  {
    name: "otherSeed",
    describe: "the last stage draws with a seed of its own",
    stage: (n) => n - 1,
    tamper: ({ sampling, stageCount }) => ({
      stage: stageCount - 1,
      sampling: { ...sampling, seed: keccak256(toHex("a seed the operator liked better")) },
    }),
  },
  {
    name: "copiedOutput",
    describe: "a stage sends (and commits) what it computed for another request, position by position",
    stage: middle,
    tamper: ({ stageCount, other }) => {
      const stage = middle(stageCount);
      let position = 0;
      return {
        stage,
        run: () => {
          const { shape, values } = decodeWireTensor(other.traces[stage]!.outputs[position++] as Uint8Array);
          return tf.tensor(values, shape, "float32");
        },
      };
    },
  },
];
