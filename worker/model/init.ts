import { keccak256, toBytes } from "viem";
import { type ParameterInfo, sizeOf, stageParameters } from "./layout.ts";
import type { ModelSpec } from "./spec.ts";
import { randomFromSeed } from "./random.ts";

/**
 * Initial values of one parameter, a pure function of (initSeed, parameter name): the stream is
 * xoshiro128** seeded with `keccak256(utf8("shardholder/init/" + initSeed + "/" + name))`, so a
 * stage draws its own parameters without generating (or even knowing) any other stage's.
 * Uniform noise in [-a, a] with a = std * sqrt(3) (variance std^2), computed in JS doubles and
 * rounded to float32 once: identical on every backend.
 */
export function initialValues(initSeed: number, info: ParameterInfo): Float32Array {
  const values = new Float32Array(sizeOf(info.shape));
  switch (info.init.kind) {
    case "zeros":
      return values;
    case "ones":
      return values.fill(1);
    case "uniform": {
      const random = randomFromSeed(keccak256(toBytes(`shardholder/init/${initSeed}/${info.name}`)));
      const a = info.init.std * Math.sqrt(3);
      for (let i = 0; i < values.length; i++) values[i] = (2 * random.nextFloat() - 1) * a;
      return values;
    }
  }
}

/**
 * Stage `stage`'s initial weights, flattened in canonical order, without tfjs: what the registry's
 * initial weights root of that stage is computed from (equal to `createStage(...).exportWeights()`).
 */
export function initialStageWeights(spec: ModelSpec, stage: number): Float32Array {
  const params = stageParameters(spec, stage);
  const out = new Float32Array(params.reduce((n, p) => n + sizeOf(p.shape), 0));
  let offset = 0;
  for (const p of params) {
    out.set(initialValues(spec.initSeed, p), offset);
    offset += sizeOf(p.shape);
  }
  return out;
}
