import * as tf from "@tensorflow/tfjs";

/** Swaps the last two axes (a batched matrix transpose). */
function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1] as number, perm[n - 2] as number];
  return tf.transpose(t, perm);
}

/**
 * `matMul(a, b)` (rank 2, or equal-rank batched) whose gradient transposes explicitly instead of
 * using matMul's transposeA/transposeB flags: on the wasm backend those flags run 10-25x slower
 * than a transpose followed by a plain matMul (`npm run bench:matmul` measures both), and autodiff of
 * tf.matMul uses them.
 */
export const mm: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad<tf.Tensor>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy, swapLast(sb)), tf.matMul(swapLast(sa), dy)];
    },
  };
});

/**
 * Token embedding as `oneHot(ids) x table` (wasm has no gradient kernel for gather). The one-hot
 * input gets no gradient (it is constant), which saves the [N, d] x [d, V] product autodiff would do.
 */
export const embedOneHot: (oneHot: tf.Tensor, table: tf.Tensor) => tf.Tensor = tf.customGrad<tf.Tensor>(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [oneHot, table, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([oneHot]);
    return {
      value: tf.matMul(oneHot, table),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [oh] = saved as [tf.Tensor];
        return [tf.zerosLike(oh), tf.matMul(swapLast(oh), dy)];
      },
    };
  },
);

/** LayerNorm over the last axis with gain and bias. */
export function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, epsilon = 1e-5): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, epsilon))), gain), bias);
}

/** `x [N, in] x w [in, out] (+ bias)`. */
export function linear(x: tf.Tensor, w: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const y = mm(x, w);
  return bias ? tf.add(y, bias) : y;
}

/** The additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. */
export function causalMask(contextLength: number): tf.Tensor2D {
  return tf.tidy(() => {
    const lower = tf.linalg.bandPart(tf.ones([contextLength, contextLength]), -1, 0);
    return tf.mul<tf.Tensor2D>(tf.sub(1, lower), -1e9);
  });
}

/** The parameters of one transformer block, by role. */
export interface BlockWeights {
  ln1Gain: tf.Tensor;
  ln1Bias: tf.Tensor;
  qkv: tf.Tensor;
  out: tf.Tensor;
  ln2Gain: tf.Tensor;
  ln2Bias: tf.Tensor;
  mlpIn: tf.Tensor;
  mlpInBias: tf.Tensor;
  mlpOut: tf.Tensor;
  mlpOutBias: tf.Tensor;
}

/**
 * Block `layer`'s weights looked up by canonical parameter name (`block.<layer>.<role>`), shared
 * by the autodiff forward (`forward.ts`) and the taped forward/backward (`tape.ts`).
 */
export function blockWeightsOf(get: (name: string) => tf.Tensor, layer: number): BlockWeights {
  const p = (role: string): tf.Tensor => get(`block.${layer}.${role}`);
  return {
    ln1Gain: p("ln1.gain"),
    ln1Bias: p("ln1.bias"),
    qkv: p("attn.qkv"),
    out: p("attn.out"),
    ln2Gain: p("ln2.gain"),
    ln2Bias: p("ln2.bias"),
    mlpIn: p("mlp.in"),
    mlpInBias: p("mlp.inBias"),
    mlpOut: p("mlp.out"),
    mlpOutBias: p("mlp.outBias"),
  };
}

/** Multi-head causal self-attention on flattened tokens `h [B*T, d]`; returns `[B*T, d]`. */
function attention(h: tf.Tensor, w: BlockWeights, batch: number, time: number, heads: number, mask: tf.Tensor): tf.Tensor {
  const d = h.shape[1] as number;
  const dh = d / heads;
  const qkv = mm(h, w.qkv);
  const [q, k, v] = tf.split(qkv, 3, 1).map((t) => tf.transpose(tf.reshape(t, [batch, time, heads, dh]), [0, 2, 1, 3])) as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
  const scores = tf.add(tf.mul(mm(q, swapLast(k)), 1 / Math.sqrt(dh)), mask);
  const mixed = mm(tf.softmax(scores), v);
  return mm(tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [batch * time, d]), w.out);
}

/** One pre-LayerNorm block on flattened tokens `x [B*T, d]`. */
export function block(x: tf.Tensor, w: BlockWeights, batch: number, time: number, heads: number, mask: tf.Tensor): tf.Tensor {
  const attended = tf.add(x, attention(layerNorm(x, w.ln1Gain, w.ln1Bias), w, batch, time, heads, mask));
  const hidden = tf.relu(linear(layerNorm(attended, w.ln2Gain, w.ln2Bias), w.mlpIn, w.mlpInBias));
  return tf.add(attended, linear(hidden, w.mlpOut, w.mlpOutBias));
}

/** Mean cross-entropy of `logits [N, V]` against int32 `targets [N]`. */
export function crossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const vocab = logits.shape[1] as number;
  const picked = tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.reshape<tf.Rank.R1>(targets, [-1]), vocab).toFloat());
  return tf.neg(tf.div(tf.sum(picked), logits.shape[0])) as tf.Scalar;
}
