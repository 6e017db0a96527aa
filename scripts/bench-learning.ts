/**
 * Learning bench: the devnet's demo model trained in one process (all stages chained, the same
 * code the pipeline runs) at a few learning rates, with the held-out loss of the corpus' eval
 * split measured every `--every` steps. It is how the demo's learning rate was chosen, and the
 * curve shows what a longer run buys. Writes bench/learning.json and docs/learning-curve.svg.
 *
 * Usage: npx tsx scripts/bench-learning.ts [--steps 800] [--every 50] [--rates 5e-3,1e-2,2e-2]
 */
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { demoModelSpec } from "./lib/devnet/model.ts";
import { lineChartsSvg } from "./lib/plot.ts";
import { describeBackendSelection, selectBackend } from "../worker/backend/select.ts";
import { evalBatch, LOCAL_HEAD, trainingMicrobatch } from "../worker/data/batches.ts";
import { batchTensors, runLocalStep } from "../dev/model/local.ts";
import { crossEntropy } from "../worker/model/ops.ts";
import { dataParameters, type ModelSpec } from "../worker/model/spec.ts";
import { createStage, type PipelineStage } from "../worker/model/stage.ts";
import { EVAL_MICROBATCHES } from "../worker/pipeline/models.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "800" },
    every: { type: "string", default: "50" },
    rates: { type: "string", default: "5e-3,1e-2,2e-2" },
  },
});
const steps = Number(values.steps);
const every = Number(values.every);
const rates = String(values.rates).split(",").map(Number);
const selection = await selectBackend({});
process.stderr.write(`bench-learning: ${describeBackendSelection(selection)}\n`);

/** Held-out loss: the pipeline's own evaluation windows (EVAL_MICROBATCHES microbatches), forward only. */
function evalLoss(spec: ModelSpec, stages: PipelineStage[]): number {
  const batch = evalBatch(dataParameters(spec), EVAL_MICROBATCHES * spec.microbatchSize);
  return tf.tidy(() => {
    const { inputs, targets } = batchTensors(batch);
    let x: tf.Tensor = inputs;
    for (const stage of stages) x = stage.infer(x);
    const vocab = x.shape[2] as number;
    return crossEntropy(tf.reshape(x, [-1, vocab]), targets).dataSync()[0] as number;
  });
}

function curve(learningRate: number) {
  const spec: ModelSpec = { ...demoModelSpec(3), optimizer: { ...demoModelSpec(3).optimizer, learningRate } };
  const stages = spec.stages.map((_, s) => createStage(spec, s));
  const params = dataParameters(spec);
  const points: { step: number; trainLoss: number; evalLoss: number; seconds: number }[] = [
    { step: 0, trainLoss: Number.NaN, evalLoss: evalLoss(spec, stages), seconds: 0 },
  ];
  const started = performance.now();
  let recent: number[] = [];
  for (let step = 1; step <= steps; step++) {
    // One optimizer step of the devnet's shape: M microbatches, drawn as round `step` of the local head.
    const batches = Array.from({ length: spec.microbatchesPerStep }, (_, i) => trainingMicrobatch(params, 1n, BigInt(step), LOCAL_HEAD, i));
    recent.push(runLocalStep(stages, batches).loss);
    if (step % every === 0) {
      points.push({
        step,
        trainLoss: recent.reduce((a, b) => a + b, 0) / recent.length,
        evalLoss: evalLoss(spec, stages),
        seconds: (performance.now() - started) / 1000,
      });
      process.stderr.write(`lr ${learningRate}: step ${step} eval ${points[points.length - 1]?.evalLoss.toFixed(3)}\n`);
      recent = [];
    }
  }
  for (const s of stages) s.dispose();
  return { learningRate, points, secondsPerStep: (performance.now() - started) / 1000 / steps };
}

const loadBefore = loadavg()[0] ?? 0;
const runs = rates.map(curve);
const result = {
  machine: `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, tfjs ${selection.name}, load average ${loadBefore.toFixed(2)} -> ${loadavg()[0]?.toFixed(2)}`,
  measuredAt: new Date().toISOString(),
  spec: { ...demoModelSpec(3), vocab: undefined },
  tokensPerStep: demoModelSpec(3).microbatchesPerStep * demoModelSpec(3).microbatchSize * demoModelSpec(3).contextLength,
  runs,
};
mkdirSync("bench", { recursive: true });
writeFileSync("bench/learning.json", `${JSON.stringify(result, null, 2)}\n`);
const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];
writeFileSync(
  "docs/learning-curve.svg",
  lineChartsSvg(
    runs.slice(0, 2).map((r, i) => ({
      title: `Demo model, one process, lr ${r.learningRate}`,
      xLabel: "optimizer step",
      yLabel: "cross-entropy (nats)",
      label: "training (mean of the last steps)",
      points: r.points.filter((p) => !Number.isNaN(p.trainLoss)).map((p): [number, number] => [p.step, p.trainLoss]),
      color: colors[i] as string,
      overlay: { label: "held-out", points: r.points.map((p): [number, number] => [p.step, p.evalLoss]), color: "#555555" },
    })),
  ),
);
for (const r of runs)
  console.log(
    `lr ${r.learningRate}: held-out ${r.points.map((p) => `${p.step}:${p.evalLoss.toFixed(3)}`).join(" ")} (${(r.secondsPerStep * 1000).toFixed(0)} ms/step)`,
  );
