// Bundle sizes of apps using the built SDK package (packages/sdk/dist), measured with esbuild the
// way a dapp's bundler would see them: minified ESM for the browser, code splitting on (Vite,
// Rollup and webpack split dynamic imports by default), honouring the package's
// `sideEffects: false`. Used by scripts/bench-sdk-size.ts and the package test.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";

/** Bytes of one measured bundle: minified, and gzipped at level 9. */
export type Size = { minified: number; gzipped: number };

export type AppSize = {
  /** What the app's source imports. */
  imports: string;
  /** The SDK's own code in the chunks the app loads up front (viem left out: the app has it anyway). */
  sdk: Size;
  /** Chunks loaded only on demand: the error registry, fetched on the first contract revert. */
  sdkLazy: Size;
  /** The same app with viem bundled in: what the page actually loads up front. */
  withViem: Size;
};

/** One app per line: a name and the source importing from the SDK (`SDK` stands for the entry path). */
export function sdkApps(dist: string): Record<string, string> {
  const hasInfer = existsSync(path.join(dist, "actions", "inference", "infer.js"));
  return {
    "one action (requestInference)": `import { requestInference } from "SDK"; export const app = [requestInference];`,
    [hasInfer ? "inference (infer)" : "inference (requestInference + waitForInference)"]: hasInfer
      ? `import { infer } from "SDK"; export const app = [infer];`
      : `import { requestInference, waitForInference } from "SDK"; export const app = [requestInference, waitForInference];`,
    "decorator (shardholderActions, every action)": `import { shardholderActions } from "SDK"; export const app = [shardholderActions];`,
    "whole SDK (import *)": `import * as sdk from "SDK"; export const app = [sdk];`,
  };
}

function sizeOf(contents: Uint8Array[]): Size {
  const all = Buffer.concat(contents);
  return { minified: all.length, gzipped: contents.reduce((sum, c) => sum + gzipSync(c, { level: 9 }).length, 0) };
}

/** Output files the entry loads up front (itself and its static imports, transitively) vs on demand. */
function splitEager(metafile: Metafile, entry: string): { eager: Set<string>; lazy: Set<string> } {
  const eager = new Set<string>();
  const visit = (file: string) => {
    if (eager.has(file)) return;
    eager.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? [])
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
  };
  visit(entry);
  const lazy = new Set(Object.keys(metafile.outputs).filter((f) => !eager.has(f) && f.endsWith(".js")));
  return { eager, lazy };
}

async function bundle(dir: string, source: string, external: string[]): Promise<{ eager: Size; lazy: Size }> {
  const entry = path.join(dir, `app-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(entry, source);
  const outdir = `${entry}.out`;
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    splitting: true,
    outdir,
    external,
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  const byPath = new Map(result.outputFiles.map((f) => [path.relative(process.cwd(), f.path), f.contents]));
  const entryOut = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined)?.[0];
  if (!entryOut) throw new Error("esbuild produced no entry chunk");
  const { eager, lazy } = splitEager(result.metafile, entryOut);
  const pick = (files: Set<string>) => [...files].map((f) => byPath.get(f) ?? new Uint8Array());
  return { eager: sizeOf(pick(eager)), lazy: sizeOf(pick(lazy)) };
}

/** Measures every app of {@link sdkApps} against the built package in `packageDir` (with dist/ built). */
export async function measureSdkApps(packageDir: string): Promise<Record<string, AppSize>> {
  const dist = path.join(packageDir, "dist");
  const entry = path.join(dist, "index.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the package first (npm run build -w @shardholder/sdk)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "sdk-size-"));
  try {
    const sizes: Record<string, AppSize> = {};
    for (const [name, template] of Object.entries(sdkApps(dist))) {
      const source = template.replace('"SDK"', JSON.stringify(entry));
      const sdkOnly = await bundle(dir, source, ["viem", "viem/*"]);
      const withViem = await bundle(dir, source, []);
      sizes[name] = {
        imports: template.replace(/ export const app.*/, "").replace('"SDK"', '"@shardholder/sdk"'),
        sdk: sdkOnly.eager,
        sdkLazy: sdkOnly.lazy,
        withViem: withViem.eager,
      };
    }
    return sizes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
