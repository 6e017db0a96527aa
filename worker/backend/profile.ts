import * as tf from "@tensorflow/tfjs";

/** Kernel time of one kernel name and input shapes, summed over a profiled run. */
export interface KernelTotal {
  readonly name: string;
  readonly shapes: string;
  readonly calls: number;
  readonly ms: number;
}

/** Total wall time of a profiled run and its kernels, slowest first. */
export interface KernelProfile {
  readonly wallMs: number;
  readonly kernelMs: number;
  readonly kernels: readonly KernelTotal[];
}

/**
 * Runs `fn` under `tf.profile` and sums kernel times by (kernel, input shapes). On synchronous
 * backends (wasm, cpu) a kernel's time is its wall time, so the gap `wallMs - kernelMs` is the
 * JavaScript around the kernels (tensor bookkeeping, copies, hashing).
 */
export async function profileKernels(fn: () => void): Promise<KernelProfile> {
  const start = performance.now();
  const info = await tf.profile(fn);
  const wallMs = performance.now() - start;
  const totals = new Map<string, { name: string; shapes: string; calls: number; ms: number }>();
  for (const k of info.kernels) {
    const shapes = JSON.stringify(k.inputShapes);
    const key = `${k.name} ${shapes}`;
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const entry = totals.get(key) ?? { name: k.name, shapes, calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += ms;
    totals.set(key, entry);
  }
  const kernels = [...totals.values()].sort((a, b) => b.ms - a.ms);
  return { wallMs, kernelMs: kernels.reduce((n, k) => n + k.ms, 0), kernels };
}
