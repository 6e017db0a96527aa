/**
 * Raw matmul GFLOP/s of the selected backend and the model's training FLOP/s, as JSON on stdout.
 * Usage: npx tsx scripts/bench-matmul.ts [--backend wasm|cpu|tfjs-node|tfjs-node-gpu] [--steps N]
 *        [--spec file.json]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { measureMatmulGflops } from "../worker/backend/bench.ts";
import { parseBackendName, selectBackend } from "../worker/backend/select.ts";
import { modelTrainingFlops, stageParameterCount } from "../worker/model/layout.ts";
import { canonicalSpecJson, defaultModelSpec, parseModelSpec, specHash } from "../worker/model/spec.ts";
import { measureTrainingThroughput } from "../worker/model/throughput.ts";

const { values } = parseArgs({
  options: { backend: { type: "string" }, steps: { type: "string", default: "5" }, spec: { type: "string" } },
});
const selection = await selectBackend({ backend: values.backend ? parseBackendName(values.backend) : undefined });
const spec = values.spec ? parseModelSpec(readFileSync(values.spec, "utf8")) : defaultModelSpec();
const tokens = spec.microbatchSize * spec.contextLength;
const raw = measureMatmulGflops(512, 512, 512);
const modelSized = [
  measureMatmulGflops(tokens, spec.dModel, 3 * spec.dModel),
  measureMatmulGflops(tokens, spec.dModel, spec.dFeedForward),
  measureMatmulGflops(tokens, spec.dFeedForward, spec.dModel),
];
const training = measureTrainingThroughput(spec, Number(values.steps));
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
      modelFlopsRatioToRaw512: training.modelGflops / raw.gflops,
    },
    null,
    2,
  ),
);
