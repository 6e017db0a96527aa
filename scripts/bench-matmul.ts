/**
 * Raw matmul GFLOP/s of the selected backend and the model's training FLOP/s, as JSON on stdout.
 * Usage: npx tsx scripts/bench-matmul.ts [--backend wasm|cpu|tfjs-node|tfjs-node-gpu] [--steps N]
 *        [--spec file.json] [--raw-only --seconds S]
 * `--raw-only` prints just `{"gflops": ...}` of a 512^3 matmul measured for S seconds: the worker
 * bench runs one per stage at once, to measure raw matmul under the pipeline's own concurrency.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { measureMatmulGflops } from "../dev/backend/bench.ts";
import { parseBackendName, selectBackend } from "../worker/backend/select.ts";
import { modelTrainingFlops, stageParameterCount } from "../worker/model/layout.ts";
import { canonicalSpecJson, defaultModelSpec, parseModelSpec, specHash } from "../worker/model/spec.ts";
import { measureTrainingThroughput } from "../dev/model/throughput.ts";

const { values } = parseArgs({
  options: {
    backend: { type: "string" },
    steps: { type: "string", default: "5" },
    spec: { type: "string" },
    "raw-only": { type: "boolean", default: false },
    seconds: { type: "string", default: "3" },
  },
});
const selection = await selectBackend({ backend: values.backend ? parseBackendName(values.backend) : undefined });
if (values["raw-only"]) {
  console.log(JSON.stringify({ backend: selection.name, gflops: measureMatmulGflops(512, 512, 512, Number(values.seconds)).gflops }));
  process.exit(0);
}
const spec = values.spec ? parseModelSpec(readFileSync(values.spec, "utf8")) : defaultModelSpec();
const tokens = spec.microbatchSize * spec.contextLength;
const raw = measureMatmulGflops(512, 512, 512);
const modelSized = [
  measureMatmulGflops(tokens, spec.dModel, 3 * spec.dModel),
  measureMatmulGflops(tokens, spec.dModel, spec.dFeedForward),
  measureMatmulGflops(tokens, spec.dFeedForward, spec.dModel),
];
// The machine is shared: measure raw matmul right before every timed step and report the median
// of the per-step ratios, so a load spike during one measurement does not skew the ratio.
const rawPerStep: number[] = [];
const training = measureTrainingThroughput(spec, Number(values.steps), 1, 1n, () => {
  rawPerStep.push(measureMatmulGflops(512, 512, 512, 0.3).gflops);
});
const flopsPerStep = spec.microbatchesPerStep * modelTrainingFlops(spec);
const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const stepRatios = training.stepSeconds.map((seconds, i) => flopsPerStep / seconds / 1e9 / (rawPerStep[i] as number));
console.log(
  JSON.stringify(
    {
      backend: selection.name,
      tried: selection.tried,
      matmul512Gflops: raw.gflops,
      modelSizedMatmuls: modelSized,
      spec: JSON.parse(canonicalSpecJson(spec)) as unknown,
      specHash: specHash(spec),
      stageParameterCounts: spec.stages.map((_, s) => stageParameterCount(spec, s)),
      trainingFlopsPerMicrobatch: modelTrainingFlops(spec),
      training,
      rawMatmul512GflopsPerStep: rawPerStep,
      modelFlopsRatioToRaw512: median(stepRatios),
      modelFlopsRatioToRaw512PerStep: stepRatios,
    },
    null,
    2,
  ),
);
