import * as tf from "@tensorflow/tfjs";

/** One measured matmul shape: `[m, k] x [k, n]`. */
export interface MatmulMeasurement {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly iterations: number;
  readonly seconds: number;
  readonly gflops: number;
}

/**
 * Raw `matMul` throughput of the active backend for `[m, k] x [k, n]` (2mkn FLOPs each), after
 * warm-up, reading the result back so asynchronous backends are timed to completion.
 */
export function measureMatmulGflops(m: number, k: number, n: number, minSeconds = 1): MatmulMeasurement {
  const a = tf.randomUniform([m, k], -1, 1, "float32", 1);
  const b = tf.randomUniform([k, n], -1, 1, "float32", 2);
  const once = (): void => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  for (let i = 0; i < 3; i++) once();
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minSeconds * 1000 || iterations < 5) {
    once();
    iterations++;
    elapsed = performance.now() - start;
  }
  tf.dispose([a, b]);
  const seconds = elapsed / 1000;
  return { m, k, n, iterations, seconds, gflops: (2 * m * k * n * iterations) / seconds / 1e9 };
}
