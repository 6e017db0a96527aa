export { calibrateTolerance } from "./calibrate.ts";
export { type ItemInputs, type ItemOutputs, Reexecutor, transformerData } from "./reexecute.ts";
export { runValidatorLoop, type RunValidatorLoopParameters } from "./run.ts";
export { sampleIndices, sampleSize, samplingSeed } from "./sampling.ts";
export {
  type ComparedKind,
  readToleranceSidecar,
  relativeL2,
  type Tolerance,
  TOLERANCE_FLOOR,
  TOLERANCE_SAFETY,
  type ToleranceSidecar,
  toleranceFromSpread,
  toleranceSidecarPath,
  writeToleranceSidecar,
} from "./tolerance.ts";
export { type AcceptedCommitment, type RoundAudit, Validator, type ValidatorLogEntry, type ValidatorParameters } from "./validator.ts";
export { type ContentFetcher, type ItemVerdict, verifyItem } from "./verify.ts";
