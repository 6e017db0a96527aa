import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import path from "node:path";
import { BaseError } from "../../sdk/errors/base.ts";

/** The backends in preference order. `tfjs-node-gpu` and `tfjs-node` both register tfjs's "tensorflow" backend. */
export const BACKEND_ORDER = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/** One attempt: whether the backend came up and, if not, why. */
export interface BackendAttempt {
  readonly name: BackendName;
  readonly ok: boolean;
  readonly reason?: string;
}

/** The backend in use (`tf.getBackend()` agrees) and what was tried before it. */
export interface BackendSelection {
  readonly name: BackendName;
  /** tfjs's own name of the active backend ("tensorflow", "wasm" or "cpu"). */
  readonly tfBackend: string;
  readonly tried: readonly BackendAttempt[];
}

export type SelectBackendParameters = {
  /** Force one backend (the CLI's `--backend`): no fallback; failure throws `BackendUnavailableError`. */
  backend?: BackendName | undefined;
};

/** The forced backend could not start, or none of the backends could. */
export class BackendUnavailableError extends BaseError {
  readonly tried: readonly BackendAttempt[];
  constructor(tried: readonly BackendAttempt[]) {
    super(tried.length === 1 ? `Backend ${tried[0]?.name} is not available.` : "No tfjs backend is available.", {
      name: "BackendUnavailableError",
      metaMessages: tried.map((t) => `${t.name}: ${t.reason ?? "ok"}`),
    });
    this.tried = tried;
  }
}

/** Throws unless `name` is a known backend (for flag parsing). */
export function parseBackendName(name: string): BackendName {
  if ((BACKEND_ORDER as readonly string[]).includes(name)) return name as BackendName;
  throw new BaseError(`Unknown backend "${name}".`, {
    name: "UnknownBackendError",
    metaMessages: [`Choose one of: ${BACKEND_ORDER.join(", ")}.`],
  });
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

// Module names held in variables so bundlers and tsc do not require the optional packages to exist.
const NATIVE_PACKAGES: Record<"tfjs-node-gpu" | "tfjs-node", string> = {
  "tfjs-node-gpu": "@tensorflow/tfjs-node-gpu",
  "tfjs-node": "@tensorflow/tfjs-node",
};

async function activate(name: BackendName): Promise<string> {
  switch (name) {
    case "tfjs-node-gpu":
    case "tfjs-node": {
      // Importing the binding registers the "tensorflow" backend with the shared tfjs-core.
      await import(NATIVE_PACKAGES[name]);
      if (!(await tf.setBackend("tensorflow"))) throw new Error("the tensorflow backend failed to initialize");
      return "tensorflow";
    }
    case "wasm": {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      // In Node the .wasm binaries are read from disk: point tfjs at the installed package's dist folder.
      const require = createRequire(import.meta.url);
      wasm.setWasmPaths(`${path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))}${path.sep}`);
      if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to initialize");
      return "wasm";
    }
    case "cpu":
      if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend failed to initialize");
      return "cpu";
  }
}

/**
 * Picks the tfjs backend: the forced one, or the first of tfjs-node-gpu -> tfjs-node -> wasm -> cpu
 * that starts. The model code is the same on every backend; only the kernels differ. Returns the
 * backend in use and why earlier ones were skipped, so the CLI can say so.
 *
 * @example
 * const { name, tried } = await selectBackend({ backend: "wasm" })
 */
export async function selectBackend(parameters: SelectBackendParameters = {}): Promise<BackendSelection> {
  const candidates: readonly BackendName[] = parameters.backend ? [parameters.backend] : BACKEND_ORDER;
  const tried: BackendAttempt[] = [];
  for (const name of candidates) {
    try {
      const tfBackend = await activate(name);
      await tf.ready();
      if (tf.getBackend() !== tfBackend) throw new Error(`tfjs reports backend ${tf.getBackend()} instead of ${tfBackend}`);
      tried.push({ name, ok: true });
      return { name, tfBackend, tried };
    } catch (error) {
      tried.push({ name, ok: false, reason: message(error) });
    }
  }
  throw new BackendUnavailableError(tried);
}

/** One line for humans: "backend wasm (tfjs-node-gpu: Cannot find package ...; tfjs-node: ...)". */
export function describeBackendSelection(selection: BackendSelection): string {
  const skipped = selection.tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.reason}`);
  return skipped.length ? `backend ${selection.name} (skipped ${skipped.join("; ")})` : `backend ${selection.name}`;
}
