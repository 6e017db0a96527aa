/**
 * The two places the worker uses code other than tfjs for speed, each against what it replaces,
 * on the same inputs, in this process: hash-wasm's keccak-256 vs viem's JavaScript keccak-256 (the
 * wire hashes every tensor), and the wasm SIMD batched matmul vs tfjs-wasm's batched tf.matMul
 * (attention's per-head products, at the demo model's shapes). Writes bench/kernels.json.
 *   npx tsx scripts/bench-kernels.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { keccak256 } from "viem";
import { fastKeccak256 } from "../worker/backend/keccak.ts";
import { selectBackend } from "../worker/backend/select.ts";
import { simdBatchMatMul } from "../worker/backend/simd.ts";
import { defaultModelSpec } from "../worker/model/spec.ts";

/** Median seconds per call of `fn` over `runs` timed calls after two warm-ups. */
function medianSeconds(fn: () => void, runs: number): number {
  fn();
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push((performance.now() - t) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
}

const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 2654435761) >>> 24);
const viemSec = medianSeconds(() => keccak256(bytes), 15);
const wasmSec = medianSeconds(() => fastKeccak256(bytes), 15);
const mb = bytes.length / 1e6;

const selection = await selectBackend({ backend: "wasm" });
const spec = defaultModelSpec();
const [g, m, n, k] = [spec.microbatchSize * spec.heads, spec.contextLength, spec.contextLength, spec.dModel / spec.heads];
const a = new Float32Array(g * m * k).map((_, i) => Math.sin(i));
const b = new Float32Array(g * k * n).map((_, i) => Math.cos(i));
const flops = 2 * g * m * n * k;
const simdSec = medianSeconds(() => simdBatchMatMul(a, b, g, m, n, k), 30);
const [ta, tb] = [tf.tensor3d(a, [g, m, k]), tf.tensor3d(b, [g, k, n])];
// Read back and dispose by hand: a tf.tidy per call costs far more than the product at these sizes.
const tfjsSec = medianSeconds(() => {
  const c = tf.matMul(ta, tb);
  c.dataSync();
  c.dispose();
}, 30);

const report = {
  generatedAt: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model.trim(), cores: os.cpus().length, node: process.version },
  keccak: { inputBytes: bytes.length, viemMBps: mb / viemSec, hashWasmMBps: mb / wasmSec, speedup: viemSec / wasmSec },
  batchedMatMul: {
    backend: selection.name,
    shape: { batch: g, m, n, k },
    tfjsGflops: flops / tfjsSec / 1e9,
    simdGflops: flops / simdSec / 1e9,
    speedup: tfjsSec / simdSec,
  },
};
mkdirSync("bench", { recursive: true });
writeFileSync("bench/kernels.json", `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
process.exit(0);
