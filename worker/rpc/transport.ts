// The one JSON-RPC layer of the long-lived processes (`shardholder train`, `serve`, `validate`).
// A miner or validator runs for days against public endpoints that stall, restart and rate-limit;
// none of that may kill it. The preflight keeps its own fast-failing client (worker/cli/preflight.ts).
import { BaseError as ViemBaseError, custom, type EIP1193RequestFn, fallback, type Hex, http, keccak256, type Transport } from "viem";

/** Tuning of {@link rpcTransport}. */
export type RpcTransportParameters = {
  /** Endpoints, in order of preference; a failing one hands over to the next (viem `fallback`). */
  urls: readonly string[];
  /** Timeout of one HTTP request; default 30 s (a loaded node answers late, a dead one never). */
  timeoutMs?: number | undefined;
  /** How long one call keeps retrying an unreachable or stalled chain before it fails; default 15 min. */
  stallBudgetMs?: number | undefined;
  /** First delay between rounds over all endpoints, doubled after each (with jitter); default 250 ms. */
  baseDelayMs?: number | undefined;
  /** Cap of that delay; default 15 s. */
  maxDelayMs?: number | undefined;
  /** Called before each wait (for the log line that says the chain is being waited out). */
  onRetry?: ((info: RpcRetryInfo) => void) | undefined;
  /** Source of jitter in [0, 1); default `Math.random`. */
  random?: (() => number) | undefined;
};

/** One retry of a call: which method, the how-manyth attempt failed, and how long it has been failing. */
export type RpcRetryInfo = { method: string; attempt: number; delayMs: number; failingForMs: number; error: Error };

/**
 * Every endpoint stayed unreachable or stalled for the whole stall budget. A viem `BaseError`
 * (same `shortMessage`/`details` layout as the SDK's): viem passes those through its request
 * wrapper unchanged, where any other error would become an `UnknownRpcError`.
 */
export class RpcStalledError extends ViemBaseError {
  readonly method: string;
  readonly attempts: number;
  constructor({ method, attempts, failingForMs, cause }: { method: string; attempts: number; failingForMs: number; cause: Error }) {
    super(`The JSON-RPC endpoints did not answer ${method} for ${Math.round(failingForMs / 1000)} s (${attempts} attempts).`, {
      name: "RpcStalledError",
      cause,
      metaMessages: ["Check the node(s) given with --rpc; pass --rpc more than once for a fallback endpoint."],
    });
    this.method = method;
    this.attempts = attempts;
  }
}

/** Errors of a transaction the node already holds or mined: a resend after a lost answer, not a failure. */
const ALREADY_SENT =
  /already known|known transaction|already imported|transaction already exists|nonce too low|nonce has already been used/i;

type Walkable = { name?: string; status?: number; code?: unknown; message?: string; cause?: unknown };

/** The error and its causes, outermost first. */
function chain(err: unknown): Walkable[] {
  const out: Walkable[] = [];
  for (let e = err as Walkable | undefined; e && out.length < 16; e = e.cause as Walkable | undefined) out.push(e);
  return out;
}

/**
 * Whether a failed JSON-RPC call may succeed if repeated: the endpoint was unreachable, timed
 * out, answered with a server error or rate limit, or reset the connection. Reverts, bad
 * parameters and other answers of a working node are not transient.
 *
 * @example
 * if (isTransientRpcError(err)) await sleep(backoff)
 */
export function isTransientRpcError(err: unknown): boolean {
  return chain(err).some((e) => {
    if (e.name === "TimeoutError" || e.name === "AbortError") return true;
    if (e.name === "HttpRequestError") return e.status === undefined || e.status >= 500 || e.status === 429 || e.status === 408;
    if (e.code === -32005 /* limit exceeded */ || e.code === 429) return true;
    if (typeof e.code === "string" && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|UND_ERR_)/.test(e.code))
      return true;
    return e.name === "TypeError" && /fetch failed|terminated|socket/i.test(e.message ?? "");
  });
}

/** Delay before retry `attempt + 1`: exponential, capped, drawn in `[d/2, d]` so many clients do not retry in step. */
export function jitteredBackoffMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The viem transport of the long-lived processes: `fallback` over every `--rpc` endpoint, each
 * plain `http` with a generous timeout; a call that fails on all of them for a transient reason
 * is retried with exponential backoff and jitter for up to `stallBudgetMs` (a stall of minutes
 * is waited out, `onRetry` logs it), then fails with {@link RpcStalledError}. A transaction
 * whose first send lost its answer and whose resend the node refuses as already known (or its
 * nonce as used) counts as sent when the node has it: its hash is returned, and the receipt
 * decides the rest.
 *
 * @example
 * const transport = rpcTransport({ urls: ["http://127.0.0.1:8545", "https://backup.example"], onRetry: (i) => logger.warn(i, "chain not answering, retrying") })
 * const client = createPublicClient({ transport })
 */
export function rpcTransport(parameters: RpcTransportParameters): Transport {
  const {
    urls,
    timeoutMs = 30_000,
    stallBudgetMs = 15 * 60_000,
    baseDelayMs = 250,
    maxDelayMs = 15_000,
    random = Math.random,
  } = parameters;
  if (urls.length === 0) throw new RangeError("rpcTransport needs at least one URL");
  const endpoints = fallback(
    urls.map((url) => http(url, { timeout: timeoutMs, retryCount: 0 })),
    // Move on to the next endpoint on transient failures only; a node's real answer (a revert) is final.
    { retryCount: 0, shouldThrow: (error) => !isTransientRpcError(error) },
  );
  return ({ chain: chainConfig, pollingInterval }) => {
    const inner = endpoints({ chain: chainConfig, pollingInterval, retryCount: 0, timeout: timeoutMs });
    const call = (method: string, params: unknown): Promise<unknown> => inner.request({ method, params });
    const request = async ({ method, params }: { method: string; params?: unknown }): Promise<unknown> => {
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        try {
          return await call(method, params);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          // A send whose answer was lost (timeout, reset) may have reached the node: the resend is
          // refused as known, or its nonce as used, and the node's copy decides.
          if (method === "eth_sendRawTransaction") {
            const hash = await sentBefore(call, params, error);
            if (hash) return hash;
          }
          if (!isTransientRpcError(error)) throw error;
          const failingForMs = performance.now() - started;
          const delayMs = jitteredBackoffMs(attempt, baseDelayMs, maxDelayMs, random);
          if (failingForMs + delayMs > stallBudgetMs) throw new RpcStalledError({ method, attempts: attempt, failingForMs, cause: error });
          parameters.onRetry?.({ method, attempt, delayMs, failingForMs, error });
          await sleep(delayMs);
        }
      }
    };
    return custom({ request } as { request: EIP1193RequestFn }, { key: "shardholder", name: "Shardholder RPC", retryCount: 0 })({
      chain: chainConfig,
      pollingInterval,
      retryCount: 0,
    });
  };
}

/** The hash of the raw transaction in `params` when the node already holds it (pending or mined). */
async function sentBefore(
  call: (method: string, params: unknown) => Promise<unknown>,
  params: unknown,
  error: Error,
): Promise<Hex | undefined> {
  const raw = Array.isArray(params) ? (params[0] as Hex | undefined) : undefined;
  if (!raw || !ALREADY_SENT.test(error.message)) return undefined;
  const hash = keccak256(raw);
  try {
    return (await call("eth_getTransactionByHash", [hash])) ? hash : undefined;
  } catch {
    return undefined;
  }
}
