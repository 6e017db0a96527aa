// The model spec, content-addressed: whoever holds a model's canonical spec JSON serves it at
// `GET <base>/specs/<specHash>.json`, and whoever needs it fetches it from any such base and keeps
// it only if its keccak-256 equals the registry's `specHash`. So no source has to be trusted: the
// chain says what the spec is, the network only carries it. The sources, in order: the model's
// metadata URI (when it is an http(s) URL), the serving endpoints the ServingDirectory announces
// for the model (stage 0 of every serving pipeline serves its spec), and any the caller adds
// (a network file's spec server).
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { type Hex, keccak256, toBytes } from "viem";
import { parseModelSpec } from "./spec.ts";

/** Path of a spec under a base URL. */
export const specPath = (hash: Hex): string => `/specs/${hash.toLowerCase()}.json`;

/** `<base>/specs/<hash>.json`. */
export function specUrl(base: string, hash: Hex): string {
  return `${base.replace(/\/+$/, "")}${specPath(hash)}`;
}

/** keccak-256 of the spec text's UTF-8 bytes: what the registry stores as `specHash`. */
export const specTextHash = (text: string): Hex => keccak256(toBytes(text));

/**
 * An HTTP route serving canonical spec texts by their hash: answers `GET /specs/<hash>.json` and
 * returns true, or returns false for any other request (so a server can try its other routes).
 */
export function specRoute(specs: ReadonlyMap<string, string>): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const match = /^\/specs\/(0x[0-9a-fA-F]{64})\.json$/.exec(req.url ?? "");
    if (req.method !== "GET" || !match) return false;
    const text = specs.get((match[1] as string).toLowerCase());
    if (text === undefined)
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "no spec with that hash here" }));
    else res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=31536000, immutable" }).end(text);
    return true;
  };
}

/** Where a spec was looked for, and what came of it. */
export type SpecAttempt = { url: string; outcome: "ok" | "hash mismatch" | "invalid spec" | "unreachable" | `http ${number}` };

/** No source served a spec whose hash is the registered one. */
export class SpecUnavailableError extends Error {
  constructor(
    readonly specHash: Hex,
    readonly attempts: SpecAttempt[],
  ) {
    super(
      attempts.length === 0
        ? `No source of spec ${specHash}: the model's metadata URI is not an http(s) URL and no serving endpoint is announced; pass --spec <file>.`
        : `No source served spec ${specHash}: ${attempts.map((a) => `${a.url} (${a.outcome})`).join(", ")}; pass --spec <file>.`,
    );
    this.name = "SpecUnavailableError";
  }
}

/** The URLs to try for `specHash`: the metadata URI if it is http(s), then `<base>/specs/<hash>.json` of each base. */
export function specCandidates(specHash: Hex, metadataURI: string, bases: readonly string[]): string[] {
  const urls = /^https?:\/\//i.test(metadataURI) ? [metadataURI] : [];
  for (const base of bases) if (/^https?:\/\//i.test(base)) urls.push(specUrl(base, specHash));
  return [...new Set(urls)];
}

/**
 * Fetches the spec whose hash is `specHash` from the first of `urls` that serves it (each within
 * `timeoutMs`), checks the hash and that it parses as a spec, and writes it to
 * `<cacheDir>/<hash>.json` (read from there next time without asking anyone).
 *
 * @example
 * const { file } = await fetchSpec({ specHash: model.specHash, urls: specCandidates(model.specHash, model.metadataURI, endpoints), cacheDir: ".shardholder/specs" })
 */
export async function fetchSpec({
  specHash,
  urls,
  cacheDir,
  timeoutMs = 5_000,
  fetchImpl = fetch,
}: {
  specHash: Hex;
  urls: readonly string[];
  cacheDir: string;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}): Promise<{ file: string; source: string; attempts: SpecAttempt[] }> {
  const file = path.resolve(cacheDir, `${specHash.toLowerCase()}.json`);
  const cached = await readFile(file, "utf8").catch(() => undefined);
  if (cached !== undefined && specTextHash(cached) === specHash.toLowerCase()) return { file, source: file, attempts: [] };
  const attempts: SpecAttempt[] = [];
  for (const url of urls) {
    let text: string;
    try {
      const res = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        attempts.push({ url, outcome: `http ${res.status}` });
        continue;
      }
      text = await res.text();
    } catch {
      attempts.push({ url, outcome: "unreachable" });
      continue;
    }
    if (specTextHash(text) !== specHash.toLowerCase()) {
      attempts.push({ url, outcome: "hash mismatch" });
      continue;
    }
    try {
      parseModelSpec(text);
    } catch {
      attempts.push({ url, outcome: "invalid spec" });
      continue;
    }
    attempts.push({ url, outcome: "ok" });
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, file);
    return { file, source: url, attempts };
  }
  throw new SpecUnavailableError(specHash, attempts);
}
