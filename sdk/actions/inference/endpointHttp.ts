// @internal The dapp's side of the serving endpoint protocol (sdk/protocol/servingEndpoint.ts):
// plain `fetch`, so it runs in Node 20+ and browsers alike.
import type { Hex } from "viem";
import { OutputMismatchError, OutputUnavailableError } from "../../errors/inference.ts";
import { type EndpointOutput, endpointPaths, endpointUrl, textHash } from "../../protocol/servingEndpoint.ts";

const describe = (err: unknown): string =>
  err instanceof Error ? (err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message) : String(err);

/** Uploads `prompt` to an endpoint; resolves with undefined when it was stored under its hash, else with why not. */
export async function uploadPrompt(url: string, prompt: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(endpointUrl(url, endpointPaths.inputs), {
      method: "PUT",
      body: prompt,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { inputHash?: unknown; error?: unknown };
    if (!res.ok) return `HTTP ${res.status}${typeof body.error === "string" ? `: ${body.error}` : ""}`;
    const expected = textHash(prompt);
    if (typeof body.inputHash !== "string" || body.inputHash.toLowerCase() !== expected)
      return `stored the prompt under ${String(body.inputHash)}, not ${expected}`;
    return undefined;
  } catch (err) {
    return describe(err);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The text of fulfilled request `requestId` from its endpoint, accepted only if it hashes to
 * `outputHash` (the endpoint's own claim about the hash is ignored). Retries a missing or failing
 * answer until `timeoutMs`; throws {@link OutputMismatchError} or {@link OutputUnavailableError}.
 */
export async function fetchOutput(url: string, requestId: bigint, outputHash: Hex, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  let reason: string;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(endpointUrl(url, endpointPaths.output(requestId)), {
        signal: AbortSignal.timeout(Math.max(1, until - Date.now())),
      });
      if (res.ok) {
        const body = (await res.json()) as Partial<EndpointOutput>;
        if (typeof body.output !== "string")
          throw new OutputUnavailableError({ requestId, url, reason: "the answer has no `output` text" });
        const receivedHash = textHash(body.output);
        if (receivedHash !== outputHash.toLowerCase())
          throw new OutputMismatchError({ requestId, url, expectedHash: outputHash, receivedHash });
        return body.output;
      }
      reason = `HTTP ${res.status}`;
    } catch (err) {
      if (err instanceof OutputMismatchError || err instanceof OutputUnavailableError) throw err;
      reason = describe(err);
    }
    if (Date.now() + 100 >= until) throw new OutputUnavailableError({ requestId, url, reason });
    await sleep(Math.min(1_000, 100 * 2 ** attempt));
  }
}
