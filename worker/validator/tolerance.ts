import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Hex } from "viem";

/** What is compared when re-executing one item. */
export type ComparedKind = "outputActivation" | "loss" | "inputGradient" | "parameterGradient";

/** Relative L2 tolerances of one backend pair, calibrated from the honest spread. */
export type Tolerance = Record<ComparedKind, number>;

/** Calibration record stored beside the model spec (`<spec>.tolerance.json`). */
export type ToleranceSidecar = {
  specHash: Hex;
  /** Backends whose honest re-executions were compared. */
  backends: string[];
  /** Largest relative L2 distance measured between honest runs (backends x reruns). */
  measuredSpread: Tolerance;
  /** The tolerance validators apply: `max(SAFETY * spread, floor)`. */
  tolerance: Tolerance;
  safetyFactor: number;
  samples: number;
  measuredAt: string;
};

/** Multiplier over the measured honest spread. */
export const TOLERANCE_SAFETY = 20;

/**
 * Floors per kind: int8 wire tensors are compared after dequantization, and an honest backend
 * difference can flip a code by one step (about 1/127 of the tensor's max per flipped element),
 * so a few flips must pass even when the calibration runs happened to flip none.
 */
export const TOLERANCE_FLOOR: Tolerance = { outputActivation: 2e-2, inputGradient: 2e-2, loss: 1e-5, parameterGradient: 1e-5 };

/** Relative L2 distance `|a - b| / |b|` (absolute when `b` is zero); lengths must agree. */
export function relativeL2(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    diff += d * d;
    norm += (b[i] as number) ** 2;
  }
  if (!Number.isFinite(diff)) return Number.POSITIVE_INFINITY;
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

/** Tolerance from a measured spread: `max(SAFETY * spread, floor)` per kind. */
export function toleranceFromSpread(spread: Tolerance): Tolerance {
  const t = {} as Tolerance;
  for (const k of Object.keys(TOLERANCE_FLOOR) as ComparedKind[]) t[k] = Math.max(TOLERANCE_SAFETY * spread[k], TOLERANCE_FLOOR[k]);
  return t;
}

/** Path of the sidecar of a spec file. */
export function toleranceSidecarPath(specPath: string): string {
  return specPath.replace(/\.json$/, "") + ".tolerance.json";
}

/** Writes the calibration beside the spec. */
export function writeToleranceSidecar(specPath: string, sidecar: ToleranceSidecar): string {
  const path = toleranceSidecarPath(specPath);
  writeFileSync(path, `${JSON.stringify(sidecar, null, 2)}\n`);
  return path;
}

/** Reads the calibration of a spec; undefined when none was stored or it belongs to another spec. */
export function readToleranceSidecar(specPath: string, specHash: Hex): ToleranceSidecar | undefined {
  const path = toleranceSidecarPath(specPath);
  if (!existsSync(path)) return undefined;
  const sidecar = JSON.parse(readFileSync(path, "utf8")) as ToleranceSidecar;
  return sidecar.specHash === specHash ? sidecar : undefined;
}
