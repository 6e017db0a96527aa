import { type BackendName, selectBackend } from "../backend/select.ts";
import { LOCAL_HEAD } from "../data/batches.ts";
import { type ModelSpec, specHash } from "../model/spec.ts";
import { createStage } from "../model/stage.ts";
import { encodeWireTensor, type WireFormat } from "../p2p/wire.ts";
import { type ItemInputs, type ItemOutputs, Reexecutor, transformerData } from "./reexecute.ts";
import {
  type ComparedKind,
  relativeL2,
  type Tolerance,
  TOLERANCE_SAFETY,
  toleranceFromSpread,
  type ToleranceSidecar,
} from "./tolerance.ts";

type StageItem = { stage: number; index: number; inputs: ItemInputs };

/**
 * Honest items of every stage for microbatches `0..samples-1` of round 0 with the initial
 * weights: a forward sweep (zero upstream gradients) gives each stage's input, then a backward
 * sweep gives the real upstream gradients.
 */
function honestItems(spec: ModelSpec, modelId: bigint, samples: number, wire: WireFormat): StageItem[] {
  const data = transformerData(spec, modelId);
  const weights = spec.stages.map((_, s) => {
    const st = createStage(spec, s);
    const w = st.exportWeights();
    st.dispose();
    return w;
  });
  const last = spec.stages.length - 1;
  const r = new Reexecutor(spec, wire);
  const items: StageItem[] = [];
  for (let index = 0; index < samples; index++) {
    const batch = data(LOCAL_HEAD, 0n, index);
    const [B, T] = batch.ids.shape as [number, number];
    batch.ids.dispose();
    batch.targets.dispose();
    const zero = encodeWireTensor([B, T, spec.dModel], new Float32Array(B * T * spec.dModel), wire).bytes;
    const inputs: (Uint8Array | undefined)[] = [undefined];
    for (let s = 0; s < last; s++) {
      const out = r.run({
        stageIndex: s,
        round: 0n,
        index,
        head: LOCAL_HEAD,
        data,
        inputs: { weights: weights[s] as Float32Array, inputBytes: inputs[s], upstreamGradBytes: zero },
      });
      inputs.push(out.output?.bytes);
    }
    let upstream: Uint8Array | undefined;
    for (let s = last; s >= 0; s--) {
      const itemInputs: ItemInputs = { weights: weights[s] as Float32Array, inputBytes: inputs[s], upstreamGradBytes: upstream };
      items.push({ stage: s, index, inputs: itemInputs });
      upstream = r.run({ stageIndex: s, round: 0n, index, head: LOCAL_HEAD, data, inputs: itemInputs }).inputGrad?.bytes;
    }
  }
  r.dispose();
  return items;
}

function distances(a: ItemOutputs, b: ItemOutputs): Tolerance {
  return {
    outputActivation: a.output && b.output ? relativeL2(a.output.values, b.output.values) : 0,
    loss: a.loss !== undefined && b.loss !== undefined ? Math.abs(a.loss - b.loss) / Math.max(1e-12, Math.abs(b.loss)) : 0,
    inputGradient: a.inputGrad && b.inputGrad ? relativeL2(a.inputGrad.values, b.inputGrad.values) : 0,
    parameterGradient: relativeL2(a.parameterGradient, b.parameterGradient),
  };
}

/**
 * Measures the honest spread of re-execution: every item re-executed twice on each backend, all
 * runs compared with the first backend's first run; the tolerance is `max(SAFETY * spread, floor)`.
 * Leaves the last backend of `backends` active.
 *
 * @example
 * const sidecar = await calibrateTolerance(spec, { backends: ["cpu", "wasm"] })
 */
export async function calibrateTolerance(
  spec: ModelSpec,
  {
    backends,
    samples = 2,
    wire = "int8",
    modelId = 1n,
  }: { backends: BackendName[]; samples?: number; wire?: WireFormat; modelId?: bigint },
): Promise<ToleranceSidecar> {
  await selectBackend({ backend: backends[0] as BackendName });
  const items = honestItems(spec, modelId, samples, wire);
  const data = transformerData(spec, modelId);
  const runs: ItemOutputs[][] = [];
  for (const backend of backends) {
    await selectBackend({ backend });
    const r = new Reexecutor(spec, wire);
    for (let rerun = 0; rerun < 2; rerun++)
      runs.push(items.map((it) => r.run({ stageIndex: it.stage, round: 0n, index: it.index, head: LOCAL_HEAD, data, inputs: it.inputs })));
    r.dispose();
  }
  const spread: Tolerance = { outputActivation: 0, loss: 0, inputGradient: 0, parameterGradient: 0 };
  const reference = runs[0] as ItemOutputs[];
  for (const run of runs.slice(1)) {
    run.forEach((out, i) => {
      const d = distances(out, reference[i] as ItemOutputs);
      for (const k of Object.keys(spread) as ComparedKind[]) spread[k] = Math.max(spread[k], d[k]);
    });
  }
  return {
    specHash: specHash(spec),
    backends: [...backends],
    measuredSpread: spread,
    tolerance: toleranceFromSpread(spread),
    safetyFactor: TOLERANCE_SAFETY,
    samples: items.length,
    measuredAt: new Date().toISOString(),
  };
}
