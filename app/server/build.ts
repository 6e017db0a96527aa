// The page is a static Vite build (app/dist). `startApp` serves it, building it first when it is
// missing or older than any source it is built from, so `shardholder app` works from a fresh
// checkout and never serves a stale page after an edit.
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The `app/` folder (vite.config.ts, index.html, src/, dist/). */
export const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(appDir, "..");
export const defaultDistDir = path.join(appDir, "dist");

/** Newest modification time (ms) under `dir`, skipping tests; 0 when it does not exist. */
async function newestUnder(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let newest = 0;
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestUnder(p));
    else if (!e.name.endsWith(".test.ts")) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

/** Whether `distDir` holds a build at least as new as every source it comes from (the app and the SDK). */
export async function isBuildFresh(distDir = defaultDistDir): Promise<boolean> {
  const index = path.join(distDir, "index.html");
  if (!existsSync(index)) return false;
  const built = (await stat(index)).mtimeMs;
  const sources = await Promise.all([
    newestUnder(path.join(appDir, "src")),
    newestUnder(path.join(repoRoot, "sdk")),
    stat(path.join(appDir, "index.html")).then((s) => s.mtimeMs),
    stat(path.join(appDir, "vite.config.ts")).then((s) => s.mtimeMs),
  ]);
  return Math.max(...sources) <= built;
}

/** Runs the Vite build of the app (the same as `npm run build:app`). */
export async function buildApp({ quiet = true } = {}): Promise<void> {
  const { build } = await import("vite");
  await build({ configFile: path.join(appDir, "vite.config.ts"), logLevel: quiet ? "warn" : "info" });
}

/** Builds the app unless `distDir` already holds a fresh build; says so through `log`. */
export async function ensureAppBuilt({ distDir = defaultDistDir, rebuild = false, log }: { distDir?: string; rebuild?: boolean; log?: ((message: string) => void) | undefined } = {}): Promise<void> {
  if (!rebuild && (await isBuildFresh(distDir))) return;
  if (distDir !== defaultDistDir) throw new Error(`${distDir} holds no fresh build of the app; run \`npm run build:app\`.`);
  log?.("building the app (vite build app/) ...");
  await buildApp();
}
