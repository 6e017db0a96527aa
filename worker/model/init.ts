import { keccak256, toBytes } from "viem";
import { type ParameterInfo, sizeOf } from "./layout.ts";
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
