import * as tf from "@tensorflow/tfjs";
import { simdBatchMatMul, simdBatchMatMulSupports, simdKernelAvailable } from "../backend/simd.ts";
import type { BlockWeights } from "./ops.ts";

/*
 * Hand-written forward/backward of the transformer pieces. A pipeline stage's backward arrives
 * long after its forward (other microbatches run in between), and tfjs's autodiff can only
 * differentiate a function it runs itself: with autodiff a stage would have to run its forward a
 * second time inside backward (+33% compute). Here forward keeps the activations backward needs
 * (a "tape") and backward applies the chain rule directly, with every transposed 2-D matmul
 * written as an explicit transpose plus a plain matMul (XNNPACK's fast path on wasm, see
 * `npm run bench:matmul`); the batched attention products go through `batchedMatMul` instead.
 * `stage.test.ts` checks these gradients against autodiff of `forward.ts`.
 */

function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1] as number, perm[n - 2] as number];
  return tf.transpose(t, perm);
}

/**
 * Column sums of `x [N, k]` as `ones[1, N] x x`: on wasm a reduction over axis 0 transposes
 * internally and runs ~6x slower than this matmul (measured 37 ms vs 6 ms for [1024, 512]).
 */
function sumRows(x: tf.Tensor): tf.Tensor {
  // x becomes matMul's b: callers must not pass data already used as b under another shape (see embedBackward).
  const n = x.shape[0];
  return tf.reshape(tf.matMul(tf.ones([1, n]), x), [x.shape[1] as number]);
}

let simdReady: boolean | undefined;

/**
 * `a [B, H, M, K] x b [B, H, K, N]` per (B, H). tfjs-wasm runs batched matmuls through a scalar
 * loop (~2 GFLOP/s); on the JavaScript-side backends (wasm, cpu) this goes through the SIMD
 * kernel of backend/simd.ts instead (~4x faster, plain sequential sums over K). A native backend
 * (tfjs-node) keeps its own batched matmul.
 */
function batchedMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [batch, heads, m, k] = a.shape as [number, number, number, number];
  const n = b.shape[3] as number;
  simdReady ??= simdKernelAvailable();
  const backend = tf.getBackend();
  if (!simdReady || (backend !== "wasm" && backend !== "cpu") || !simdBatchMatMulSupports(n, k)) return tf.matMul(a, b);
  const out = simdBatchMatMul(a.dataSync() as Float32Array, b.dataSync() as Float32Array, batch * heads, m, n, k);
  return tf.tensor(out, [batch, heads, m, n], "float32");
}

/** LayerNorm forward keeping the normalized input and the reciprocal std. */
function layerNormForward(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, epsilon = 1e-5) {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  const rstd = tf.rsqrt(tf.add(variance, epsilon));
  const xhat = tf.mul(centered, rstd);
  return { y: tf.add(tf.mul(xhat, gain), bias), xhat, rstd };
}

/** LayerNorm backward over rows of `[N, d]`: returns dx, dgain, dbias. */
function layerNormBackward(dy: tf.Tensor, xhat: tf.Tensor, rstd: tf.Tensor, gain: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const dxhat = tf.mul(dy, gain);
  const meanDxhat = tf.mean(dxhat, -1, true);
  const meanDxhatXhat = tf.mean(tf.mul(dxhat, xhat), -1, true);
  const dx = tf.mul(rstd, tf.sub(tf.sub(dxhat, meanDxhat), tf.mul(xhat, meanDxhatXhat)));
  return [dx, sumRows(tf.mul(dy, xhat)), sumRows(dy)];
}

/**
 * `x [N, in] x w [in, out]` backward: returns dx, dw. `wT` is `w` transposed, made once per
 * optimizer step by the caller: reused by every microbatch, XNNPACK also packs it only once (its
 * operator cache is keyed by b's data). The weight gradient needs one of the two [N, *]
 * activations transposed (wasm transposes are slow), so it transposes the narrower one: x^T dy
 * when in <= out, else (dy^T x)^T with a small final transpose.
 */
function linearBackward(dy: tf.Tensor, x: tf.Tensor, wT: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const dx = tf.matMul(dy, wT);
  const inWidth = x.shape[1] as number;
  const outWidth = dy.shape[1] as number;
  const dw = inWidth <= outWidth ? tf.matMul(tf.transpose(x), dy) : tf.transpose(tf.matMul(tf.transpose(dy), x));
  return [dx, dw];
}

/** The weight matrices of a block transposed, for backward (see `linearBackward`). */
export type BlockWeightsT = Record<"qkv" | "out" | "mlpIn" | "mlpOut", tf.Tensor>;

/** What a block's backward needs from its forward. */
export type BlockTape = Record<"xhat1" | "rstd1" | "h1" | "q" | "k" | "vT" | "p" | "a" | "xhat2" | "rstd2" | "h2" | "r", tf.Tensor>;

/**
 * One pre-LN block on `x [B*T, d]`; the same arithmetic as `ops.block`, plus the tape.
 * Attention's per-head products go through `batchedMatMul` (rank-4 tensors, transposed copies
 * made with rank-4 transposes: wasm transposes of rank 5 take a generic path ~50x slower).
 * Linear layers fuse their bias and ReLU into XNNPACK's matmul.
 */
export function blockForward(
  x: tf.Tensor,
  w: BlockWeights,
  qkvParts: readonly tf.Tensor[],
  batch: number,
  time: number,
  heads: number,
  mask: tf.Tensor,
) {
  const d = x.shape[1] as number;
  const dh = d / heads;
  const ln1 = layerNormForward(x, w.ln1Gain, w.ln1Bias);
  // Three products with the column blocks of attn.qkv (cached per step by the caller) instead of
  // one product and a split of the [N, 3d] result: tfjs-wasm's SplitV copies slowly.
  const [q4, k4, v4] = qkvParts.map((part) => tf.reshape(tf.matMul(ln1.y, part), [batch, time, heads, dh])) as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
  const [q, k, v] = [q4, k4, v4].map((t) => tf.transpose(t, [0, 2, 1, 3])) as [tf.Tensor, tf.Tensor, tf.Tensor];
  const scores = tf.add(tf.mul(batchedMatMul(q, tf.transpose(k4, [0, 2, 3, 1])), 1 / Math.sqrt(dh)), mask);
  const p = tf.softmax(scores);
  const mixed = batchedMatMul(p, v);
  const a = tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [batch * time, d]);
  const x2 = tf.add(x, tf.matMul(a, w.out));
  const ln2 = layerNormForward(x2, w.ln2Gain, w.ln2Bias);
  const r = tf.fused.matMul({ a: ln2.y, b: w.mlpIn, bias: w.mlpInBias, activation: "relu" });
  const y = tf.add(x2, tf.fused.matMul({ a: r, b: w.mlpOut, bias: w.mlpOutBias }));
  const tape: BlockTape = {
    xhat1: ln1.xhat,
    rstd1: ln1.rstd,
    h1: ln1.y,
    q,
    k,
    vT: tf.transpose(v4, [0, 2, 3, 1]),
    p,
    a,
    xhat2: ln2.xhat,
    rstd2: ln2.rstd,
    h2: ln2.y,
    r,
  };
  return { y, tape };
}

/**
 * Block backward: returns dx and the parameter gradients in canonical block order
 * (ln1.gain, ln1.bias, attn.qkv, attn.out, ln2.gain, ln2.bias, mlp.in, mlp.inBias, mlp.out, mlp.outBias).
 */
export function blockBackward(
  dy: tf.Tensor,
  w: BlockWeights,
  wT: BlockWeightsT,
  tape: BlockTape,
  batch: number,
  time: number,
  heads: number,
) {
  const d = dy.shape[1] as number;
  const dh = d / heads;
  const [dr, dMlpOut] = linearBackward(dy, tape.r, wT.mlpOut);
  const dMlpOutBias = sumRows(dy);
  const du = tf.mul(dr, tf.step(tape.r)); // relu(u) > 0 exactly where u > 0
  const [dh2, dMlpIn] = linearBackward(du, tape.h2, wT.mlpIn);
  const dMlpInBias = sumRows(du);
  const [dx2Norm, dLn2Gain, dLn2Bias] = layerNormBackward(dh2, tape.xhat2, tape.rstd2, w.ln2Gain);
  const dx2 = tf.add(dy, dx2Norm);
  const [da, dOut] = linearBackward(dx2, tape.a, wT.out);
  const dMixed = tf.transpose(tf.reshape(da, [batch, time, heads, dh]), [0, 2, 1, 3]);
  const dp = batchedMatMul(dMixed, tape.vT);
  const dv = batchedMatMul(swapLast(tape.p), dMixed);
  const ds = tf.mul(tf.mul(tape.p, tf.sub(dp, tf.sum(tf.mul(dp, tape.p), -1, true))), 1 / Math.sqrt(dh));
  const dq = batchedMatMul(ds, tape.k);
  const dk = batchedMatMul(swapLast(ds), tape.q);
  const merge = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [batch * time, d]);
  const dqkv = tf.concat([merge(dq), merge(dk), merge(dv)], 1);
  const [dh1, dQkv] = linearBackward(dqkv, tape.h1, wT.qkv);
  const [dxNorm, dLn1Gain, dLn1Bias] = layerNormBackward(dh1, tape.xhat1, tape.rstd1, w.ln1Gain);
  const dx = tf.add(dx2, dxNorm);
  return { dx, grads: [dLn1Gain, dLn1Bias, dQkv, dOut, dLn2Gain, dLn2Bias, dMlpIn, dMlpInBias, dMlpOut, dMlpOutBias] };
}

/** Final LayerNorm + head + mean cross-entropy forward, keeping the tape; `dlogits` is ready at once. */
export function headForward(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, weight: tf.Tensor, headBias: tf.Tensor, targets: tf.Tensor) {
  const ln = layerNormForward(x, gain, bias);
  const logits = tf.fused.matMul({ a: ln.y, b: weight, bias: headBias });
  const vocab = logits.shape[1] as number;
  const n = logits.shape[0];
  const oneHot = tf.oneHot(tf.reshape<tf.Rank.R1>(targets, [-1]), vocab).toFloat();
  const logProbs = tf.logSoftmax(logits);
  const loss = tf.neg(tf.div(tf.sum(tf.mul(logProbs, oneHot)), n));
  const dlogits = tf.div(tf.sub(tf.exp(logProbs), oneHot), n);
  return { loss, tape: { xhat: ln.xhat, rstd: ln.rstd, h: ln.y, dlogits } };
}

/** Head backward: dx and gradients (final.ln.gain, final.ln.bias, head.weight, head.bias); `weightT` is head.weight transposed. */
export function headBackward(
  tape: { xhat: tf.Tensor; rstd: tf.Tensor; h: tf.Tensor; dlogits: tf.Tensor },
  gain: tf.Tensor,
  weightT: tf.Tensor,
) {
  const [dh, dWeight] = linearBackward(tape.dlogits, tape.h, weightT);
  const dHeadBias = sumRows(tape.dlogits);
  const [dx, dGain, dBias] = layerNormBackward(dh, tape.xhat, tape.rstd, gain);
  return { dx, grads: [dGain, dBias, dWeight, dHeadBias] };
}

/** Embedding forward: one-hot x table + positions; the tape is the one-hot matrix. */
export function embedForward(ids: tf.Tensor, table: tf.Tensor, position: tf.Tensor, dModel: number) {
  const [batch, time] = ids.shape as [number, number];
  const oneHot = tf.oneHot(tf.reshape<tf.Rank.R1>(ids, [-1]), table.shape[0]).toFloat();
  const tokens = tf.reshape(tf.matMul(oneHot, table), [batch, time, dModel]);
  const x = tf.reshape(tf.add(tokens, tf.slice(position, [0, 0], [time, dModel])), [batch * time, dModel]);
  return { x, oneHot };
}

/** Embedding backward: gradients (embed.token, embed.position); positions beyond T get zeros. */
export function embedBackward(dx: tf.Tensor, oneHot: tf.Tensor, position: tf.Tensor, batch: number, time: number) {
  const dModel = dx.shape[1] as number;
  const dTable = tf.matMul(tf.transpose(oneHot), dx);
  // Not sumRows: tfjs-wasm caches its XNNPACK matmul operator by the id of b's data, ignoring the
  // shape, so dx (already b of the [N, d] product above) must not be b again as [B, T*d].
  const dPosUsed = tf.sum(tf.reshape(dx, [batch, time, dModel]), 0);
  const rows = position.shape[0];
  const dPosition = rows === time ? dPosUsed : tf.concat([dPosUsed, tf.zeros([rows - time, dModel])], 0);
  return [dTable, dPosition];
}
