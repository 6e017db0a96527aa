import { BaseError } from "../../sdk/errors/base.ts";
import { BACKEND_ORDER, type BackendName } from "../backend/select.ts";
import type { ModelSpec } from "../model/spec.ts";
import { DEFAULT_LISTEN } from "../p2p/node.ts";
import type { LinkCompression } from "../p2p/link.ts";
import type { WireFormat } from "../p2p/wire.ts";
import type { ScheduleName } from "./schedule.ts";

/**
 * Which model a stage process runs: the char transformer of a spec, or a model defined by a module
 * (an absolute path or file URL whose `loadStage(options, stageIndex, modelId)` returns a
 * {@link import("./models.ts").LoadedStage}) for research models and the dev tools' toy model.
 */
export type StageModelConfig =
  | { kind: "transformer"; spec?: ModelSpec | undefined; specPath?: string | undefined }
  | { kind: "module"; module: string; options?: unknown };

/**
 * Configuration of one stage process (`worker/pipeline/stageMain.ts`). JSON-serializable;
 * `modelId` and rounds are decimal strings or numbers (uint64 on-chain).
 */
export type StageProcessConfig = {
  /** This process's stage index (0-based). */
  stage: number;
  model: StageModelConfig;
  /** Registry model id: seeds the deterministic data of every (round, microbatch). */
  modelId: string;
  /**
   * Stage 0: the pipeline's head, the address its data is drawn for (a staking address on a
   * chain). Default: `LOCAL_HEAD`, the zero address (these processes run without a chain).
   */
  head?: string | undefined;
  /** Multiaddrs to listen on; default `["/ip4/127.0.0.1/tcp/0"]`. */
  listen: string[];
  /** Multiaddr of stage `stage + 1` (required unless last stage); `/p2p/<id>` suffix optional. */
  next?: string | undefined;
  /** First round to run and how many rounds. */
  startRound: string;
  rounds: number;
  /** Microbatches per optimizer step (default: the model's `microbatchesPerStep`). */
  microbatches?: number | undefined;
  /** Optimizer steps per round (default: the model's `stepsPerRound`). */
  steps?: number | undefined;
  /** Forward the model's held-out microbatches after each round and report `evalLoss` (transformer only; every stage must agree). */
  evaluate?: boolean | undefined;
  schedule: ScheduleName;
  wire: WireFormat;
  /** Lossless compression of the tensors this stage sends: "adaptive" (default) or "off" (benchmark baseline). */
  compression?: LinkCompression | undefined;
  /** tfjs backend: "auto" (default: tfjs-node-gpu -> tfjs-node -> wasm -> cpu) or one forced name. */
  backend: BackendName | "auto";
  dial: { attempts: number; baseDelayMs: number; maxDelayMs: number };
  /** Per-message timeout of the links (a neighbour that goes silent fails the stage with `PeerTimeoutError`); default 300 s. */
  peerTimeoutMs?: number | undefined;
  /** If set, each microbatch's parameter gradient is written to `<dir>/s<stage>-r<round>-m<index>.f32`. */
  gradientsDir?: string | undefined;
  /** If set, weights after the last round are written to this file (float32 LE, canonical order). */
  weightsOut?: string | undefined;
  /** If set, this stage's weights are loaded from this file (float32 LE, canonical order) first. */
  weightsIn?: string | undefined;
  /** "train" (default) runs `rounds` training rounds; "serve" generates text for `prompts`. */
  mode: "train" | "serve";
  /** Serve mode, stage 0: prompts to complete, one request each, in order. */
  prompts?: string[] | undefined;
  /** Serve mode, stage 0: tokens generated per prompt (default 32). */
  maxNewTokens?: number | undefined;
};

/** A configuration problem reported before anything starts. */
export class StageConfigError extends BaseError {
  constructor(reason: string) {
    super(reason, { name: "StageConfigError", metaMessages: ["See StageProcessConfig in worker/pipeline/config.ts for every field."] });
  }
}

const defaults = {
  listen: [DEFAULT_LISTEN],
  startRound: "0",
  mode: "train" as const,
  rounds: 1,
  schedule: "1f1b" as ScheduleName,
  wire: "int8" as WireFormat,
  backend: "auto" as BackendName | "auto",
  dial: { attempts: 8, baseDelayMs: 100, maxDelayMs: 2000 },
};

/** Fills defaults and validates; throws {@link StageConfigError} naming the bad field. */
export function resolveStageConfig(input: Partial<StageProcessConfig> & { stage?: number; model?: StageModelConfig }): StageProcessConfig {
  const config = { ...defaults, ...input, dial: { ...defaults.dial, ...(input.dial ?? {}) } } as StageProcessConfig;
  const fail = (field: string, why: string): never => {
    throw new StageConfigError(`config.${field} ${why}`);
  };
  if (!Number.isInteger(config.stage) || config.stage < 0) fail("stage", "must be a non-negative integer");
  if (!config.model || (config.model.kind !== "module" && config.model.kind !== "transformer"))
    fail("model.kind", 'must be "transformer" or "module"');
  if (config.model.kind === "module" && (typeof config.model.module !== "string" || config.model.module === ""))
    fail("model.module", "must name a module path");
  if (config.model.kind === "transformer" && !config.model.spec && !config.model.specPath) fail("model", "needs spec or specPath");
  if (config.modelId === undefined || !/^\d+$/.test(String(config.modelId))) fail("modelId", "must be a decimal uint64");
  if (!/^\d+$/.test(String(config.startRound))) fail("startRound", "must be a decimal uint64");
  if (config.head !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(config.head)) fail("head", "must be a 20-byte hex address");
  if (!Number.isInteger(config.rounds) || config.rounds < 1) fail("rounds", "must be a positive integer");
  if (config.microbatches !== undefined && (!Number.isInteger(config.microbatches) || config.microbatches < 1))
    fail("microbatches", "must be a positive integer");
  if (config.steps !== undefined && (!Number.isInteger(config.steps) || config.steps < 1)) fail("steps", "must be a positive integer");
  if (config.evaluate !== undefined && typeof config.evaluate !== "boolean") fail("evaluate", "must be true or false");
  if (config.schedule !== "gpipe" && config.schedule !== "1f1b") fail("schedule", 'must be "gpipe" or "1f1b"');
  if (config.wire !== "int8" && config.wire !== "float32") fail("wire", 'must be "int8" or "float32"');
  if (config.compression !== undefined && config.compression !== "adaptive" && config.compression !== "off")
    fail("compression", 'must be "adaptive" or "off"');
  if (config.backend !== "auto" && !(BACKEND_ORDER as readonly string[]).includes(config.backend))
    fail("backend", `must be "auto" or one of ${BACKEND_ORDER.join(", ")}`);
  if (!Array.isArray(config.listen) || config.listen.length === 0) fail("listen", "must list at least one multiaddr");
  if (config.mode !== "train" && config.mode !== "serve") fail("mode", 'must be "train" or "serve"');
  if (
    config.prompts !== undefined &&
    (!Array.isArray(config.prompts) || config.prompts.some((p) => typeof p !== "string" || p.length === 0))
  )
    fail("prompts", "must be a list of non-empty strings");
  if (config.maxNewTokens !== undefined && (!Number.isInteger(config.maxNewTokens) || config.maxNewTokens < 1))
    fail("maxNewTokens", "must be a positive integer");
  if (config.peerTimeoutMs !== undefined && (!Number.isInteger(config.peerTimeoutMs) || config.peerTimeoutMs < 1))
    fail("peerTimeoutMs", "must be a positive integer");
  return { ...config, modelId: String(config.modelId), startRound: String(config.startRound) };
}

/**
 * Parses argv: `--config <file>` or `--config-json <json>`, then overrides `--stage <n>`,
 * `--listen <multiaddr>`, `--next <multiaddr>`, `--rounds <n>`, `--start-round <n>`,
 * `--microbatches <n>`, `--steps <n>`, `--schedule gpipe|1f1b`, `--wire int8|float32`, `--compression adaptive|off`, `--backend auto|tfjs-node-gpu|tfjs-node|wasm|cpu`,
 * `--mode train|serve`, `--prompt <text>` (repeatable), `--max-new-tokens <n>`, `--weights-in <file>`,
 * `--weights-out <file>`, `--peer-timeout-ms <n>`, `--head <address>`.
 */
export function parseStageArgs(argv: string[], readFile: (path: string) => string): StageProcessConfig {
  let base: Partial<StageProcessConfig> = {};
  const overrides: Partial<StageProcessConfig> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    if (value === undefined) throw new StageConfigError(`flag ${flag} needs a value`);
    i++;
    switch (flag) {
      case "--config":
        base = JSON.parse(readFile(value)) as Partial<StageProcessConfig>;
        break;
      case "--config-json":
        base = JSON.parse(value) as Partial<StageProcessConfig>;
        break;
      case "--stage":
        overrides.stage = Number(value);
        break;
      case "--listen":
        overrides.listen = [value];
        break;
      case "--next":
        overrides.next = value;
        break;
      case "--head":
        overrides.head = value;
        break;
      case "--rounds":
        overrides.rounds = Number(value);
        break;
      case "--start-round":
        overrides.startRound = value;
        break;
      case "--microbatches":
        overrides.microbatches = Number(value);
        break;
      case "--steps":
        overrides.steps = Number(value);
        break;
      case "--schedule":
        overrides.schedule = value as ScheduleName;
        break;
      case "--wire":
        overrides.wire = value as WireFormat;
        break;
      case "--compression":
        overrides.compression = value as LinkCompression;
        break;
      case "--backend":
        overrides.backend = value as BackendName | "auto";
        break;
      case "--mode":
        overrides.mode = value as "train" | "serve";
        break;
      case "--prompt":
        overrides.prompts = [...(overrides.prompts ?? []), value];
        break;
      case "--max-new-tokens":
        overrides.maxNewTokens = Number(value);
        break;
      case "--weights-in":
        overrides.weightsIn = value;
        break;
      case "--weights-out":
        overrides.weightsOut = value;
        break;
      case "--peer-timeout-ms":
        overrides.peerTimeoutMs = Number(value);
        break;
      default:
        throw new StageConfigError(`unknown flag ${flag}`);
    }
  }
  return resolveStageConfig({ ...base, ...overrides });
}
