/**
 * The PyTorch reference of the worker's training step (scripts/bench-torch.py): finds python3
 * with torch, writes the exact initial weights and token batches our trainer uses, and runs the
 * python model on them with OpenBLAS for that child process only.
 *
 * BLAS: Debian's python3-torch links `libblas.so.3`, which the machine's alternatives resolve
 * (the reference netlib BLAS unless an admin switched them, ~4 GFLOP/s). The child gets
 * `LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp` (from `libopenblas0-openmp`), so
 * its dynamic loader finds OpenBLAS's `libblas.so.3` / `liblapack.so.3` first; nothing on the
 * machine changes. The script reports which library it actually mapped (/proc/self/maps).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LOCAL_HEAD, trainingMicrobatch } from "../../worker/data/batches.ts";
import { stageParameters } from "../../worker/model/layout.ts";
import { dataParameters, type ModelSpec } from "../../worker/model/spec.ts";
import { createStage } from "../../worker/model/stage.ts";

export const TORCH_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "bench-torch.py");

/** Where Debian's libopenblas0-openmp puts its libblas.so.3 / liblapack.so.3. */
export const OPENBLAS_DIRS = [
  "/usr/lib/x86_64-linux-gnu/openblas-openmp",
  "/usr/lib/aarch64-linux-gnu/openblas-openmp",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread",
];

/** Where Debian's libblas3 / liblapack3 (the reference netlib BLAS) put their libraries. */
export const REFERENCE_BLAS_DIRS = [
  "/usr/lib/x86_64-linux-gnu/blas",
  "/usr/lib/x86_64-linux-gnu/lapack",
  "/usr/lib/aarch64-linux-gnu/blas",
  "/usr/lib/aarch64-linux-gnu/lapack",
];

/**
 * Which BLAS the python child loads: "openblas" puts OpenBLAS's directory first on its loader
 * path (when installed), "reference" the netlib one (to show what Debian's default would give),
 * "system" leaves the machine's alternatives to decide.
 */
export type BlasChoice = "openblas" | "reference" | "system";

/**
 * Environment of the python child: the chosen BLAS first on the loader path, `threads` OpenMP
 * threads, and `OMP_WAIT_POLICY=PASSIVE` (unless set): libgomp's default spin-waiting made
 * PyTorch's 2-thread step ~10x slower than its 1-thread step on the shared 2-core build machine
 * (12.7 s against 1.2 s at d=128 while another engineer's processes held the cores); passive
 * waiting costs an idle machine a little wake-up latency per parallel region.
 */
export function torchEnv(threads: number, blas: BlasChoice = "openblas"): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? "PASSIVE",
  };
  const dirs =
    blas === "openblas"
      ? OPENBLAS_DIRS.filter((d) => existsSync(path.join(d, "libblas.so.3"))).slice(0, 1)
      : blas === "reference"
        ? REFERENCE_BLAS_DIRS.filter((d) => existsSync(d))
        : [];
  if (dirs.length > 0) env.LD_LIBRARY_PATH = [...dirs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return env;
}

export type TorchProbe =
  { readonly ok: true; readonly python: string; readonly version: string } | { readonly ok: false; readonly reason: string };

/**
 * The first python that imports torch: `$PYTHON` alone when set, else `python3` on PATH, then
 * Debian's `/usr/bin/python3` (where python3-torch lives when PATH starts with a pyenv or venv python).
 */
export function probeTorch(
  candidates: readonly string[] = process.env.PYTHON ? [process.env.PYTHON] : ["python3", "/usr/bin/python3"],
): TorchProbe {
  const reasons: string[] = [];
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", env: torchEnv(1), timeout: 60_000 });
    if (r.error) {
      reasons.push(`${python}: not found`);
      continue;
    }
    if (r.status === 0) return { ok: true, python, version: r.stdout.trim() };
    const last = (r.stderr ?? "").trim().split("\n").pop() ?? "";
    reasons.push(`${python}: ${last || `exit ${r.status}`}`);
  }
  return { ok: false, reason: `no python with torch (${reasons.join("; ")}); install Debian's python3-torch and libopenblas0-openmp` };
}

/** The model's Adam settings and shapes, as bench-torch.py reads them from header.json. */
interface ReferenceHeader {
  dModel: number;
  heads: number;
  layers: number;
  contextLength: number;
  microbatchSize: number;
  microbatchesPerStep: number;
  vocabSize: number;
  optimizer: ModelSpec["optimizer"];
  parameters: { name: string; shape: readonly number[] }[];
  steps: number;
}

/**
 * Writes what the python model needs for `steps` optimizer steps into a fresh temp directory:
 * every stage's `createStage(spec, s).exportWeights()` in stage order (= canonical order over the
 * whole model) and the microbatches `measureTrainingThroughput` trains on (model 1, round = step,
 * head LOCAL_HEAD). The tfjs backend must already be selected. Returns the directory (the caller removes it).
 */
export function writeReferenceInput(spec: ModelSpec, steps: number, modelId = 1n): string {
  const dir = mkdtempSync(path.join(tmpdir(), "shardholder-torch-"));
  const weights = spec.stages.map((_, s) => {
    const stage = createStage(spec, s);
    try {
      return stage.exportWeights();
    } finally {
      stage.dispose();
    }
  });
  writeFileSync(path.join(dir, "weights.f32"), Buffer.concat(weights.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength))));
  const data = dataParameters(spec);
  const per = spec.microbatchSize * spec.contextLength;
  const inputs = new Int32Array(steps * spec.microbatchesPerStep * per);
  const targets = new Int32Array(inputs.length);
  for (let step = 0; step < steps; step++) {
    for (let mb = 0; mb < spec.microbatchesPerStep; mb++) {
      const batch = trainingMicrobatch(data, modelId, BigInt(step), LOCAL_HEAD, mb);
      const at = (step * spec.microbatchesPerStep + mb) * per;
      inputs.set(batch.inputs, at);
      targets.set(batch.targets, at);
    }
  }
  writeFileSync(path.join(dir, "inputs.i32"), Buffer.from(inputs.buffer));
  writeFileSync(path.join(dir, "targets.i32"), Buffer.from(targets.buffer));
  const header: ReferenceHeader = {
    dModel: spec.dModel,
    heads: spec.heads,
    layers: spec.layers,
    contextLength: spec.contextLength,
    microbatchSize: spec.microbatchSize,
    microbatchesPerStep: spec.microbatchesPerStep,
    vocabSize: spec.vocab.length,
    optimizer: spec.optimizer,
    parameters: spec.stages.flatMap((_, s) => stageParameters(spec, s).map((p) => ({ name: p.name, shape: p.shape }))),
    steps,
  };
  writeFileSync(path.join(dir, "header.json"), JSON.stringify(header));
  return dir;
}

/** What one run of bench-torch.py reports. */
export interface TorchRun {
  readonly torch: string;
  readonly threads: number;
  readonly ompWaitPolicy: string | null;
  /** The BLAS the process mapped: "openblas-openmp", "reference (netlib libblas3)", ... */
  readonly blas: string;
  readonly blasLibraries: readonly string[];
  /** torch's build-time BLAS_INFO line (what it was compiled against, not what runs). */
  readonly buildBlas: string | null;
  readonly matmul512Gflops: number | null;
  readonly losses?: readonly number[];
  readonly stepSeconds?: readonly number[];
  readonly warmupSteps?: number;
}

export interface TorchRunParameters {
  readonly python?: string;
  /** Directory from `writeReferenceInput`; omitted: only the 512^3 matmul is measured. */
  readonly input?: string;
  readonly threads: number;
  readonly warmup?: number;
  readonly matmulSeconds?: number;
  readonly blas?: BlasChoice;
  readonly timeoutMs?: number;
}

/** Runs bench-torch.py once and parses its JSON line. */
export function runTorch(p: TorchRunParameters): TorchRun {
  const args = [TORCH_SCRIPT, "--threads", String(p.threads), "--matmul-seconds", String(p.matmulSeconds ?? 1)];
  if (p.input) args.push("--input", p.input, "--warmup", String(p.warmup ?? 1));
  else args.push("--matmul-only");
  const r = spawnSync(p.python ?? "python3", args, {
    encoding: "utf8",
    env: torchEnv(p.threads, p.blas),
    timeout: p.timeoutMs ?? 30 * 60_000,
    maxBuffer: 1 << 24,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench-torch.py failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as TorchRun;
}

/** Removes a directory made by `writeReferenceInput`. */
export function removeReferenceInput(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
