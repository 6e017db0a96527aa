import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fetchSpec, specCandidates, SpecUnavailableError, specTextHash, specUrl } from "./specSource.ts";
import { canonicalSpecJson, defaultModelSpec, specHash } from "./spec.ts";

const dir = mkdtempSync(path.join(tmpdir(), "shardholder-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = defaultModelSpec({ stageCount: 2, layers: 2, dModel: 32, microbatchSize: 2, contextLength: 8, learningRate: 1e-2 });
const text = canonicalSpecJson(spec);
const hash = specHash(spec);

/** A fetch that answers each URL from `pages` (404 otherwise) and records what was asked. */
function fakeFetch(pages: Record<string, string | Error>) {
  const asked: string[] = [];
  const impl = (async (input: string | URL | Request) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    asked.push(url);
    const page = pages[url];
    if (page instanceof Error) throw page;
    return page === undefined ? new Response("{}", { status: 404 }) : new Response(page, { status: 200 });
  }) as typeof fetch;
  return { impl, asked };
}

describe("the spec by its hash", () => {
  it("specCandidates_httpMetadataUriFirst_thenEachBase_nonHttpIgnored", () => {
    expect(specTextHash(text)).toBe(hash);
    expect(specCandidates(hash, "http://a/specs/x.json", ["http://b:1/", "ipfs://nope", "http://b:1"])).toEqual([
      "http://a/specs/x.json",
      `http://b:1/specs/${hash}.json`,
    ]);
    expect(specCandidates(hash, "shardholder://demo/brown-char", [])).toEqual([]);
    expect(specUrl("http://h:2//", hash)).toBe(`http://h:2/specs/${hash}.json`);
  });

  it("fetchSpec_skipsUnreachableMissingAndWrongTexts_keepsTheOneWithTheRegisteredHash_thenServesFromCache", async () => {
    const forged = text.replace('"learningRate":0.01', '"learningRate":0.5');
    const { impl, asked } = fakeFetch({ "http://down/x": new Error("ECONNREFUSED"), "http://forged/x": forged, "http://good/x": text });
    const cacheDir = path.join(dir, "cache");
    const found = await fetchSpec({
      specHash: hash,
      urls: ["http://down/x", "http://missing/x", "http://forged/x", "http://good/x"],
      cacheDir,
      fetchImpl: impl,
    });
    expect(found.source).toBe("http://good/x");
    expect(found.attempts.map((a) => a.outcome)).toEqual(["unreachable", "http 404", "hash mismatch", "ok"]);
    expect(readFileSync(found.file, "utf8")).toBe(text);
    // Cached by hash: nobody is asked again.
    const again = await fetchSpec({ specHash: hash, urls: ["http://good/x"], cacheDir, fetchImpl: impl });
    expect(again).toMatchObject({ file: found.file, source: found.file });
    expect(asked).toHaveLength(4);
  });

  it("fetchSpec_noSourceServesIt_SpecUnavailableErrorListingEachAttempt", async () => {
    const { impl } = fakeFetch({ "http://forged/x": "{}" });
    const err = await fetchSpec({ specHash: hash, urls: ["http://forged/x"], cacheDir: path.join(dir, "none"), fetchImpl: impl }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SpecUnavailableError);
    expect((err as Error).message).toContain("http://forged/x (hash mismatch)");
    await expect(fetchSpec({ specHash: hash, urls: [], cacheDir: path.join(dir, "none"), fetchImpl: impl })).rejects.toThrow(
      /metadata URI is not an http\(s\) URL/,
    );
  });
});
