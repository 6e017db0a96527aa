// The page is a static Vite build (app/dist). `startApp` serves it, building it first when it is
// missing or older than any source it is built from, so `shardholder app` works from a fresh
// checkout and never serves a stale page after an edit.
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
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

const LOCK = path.join(appDir, ".build-lock");
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 180_000;

/**
 * Runs `fn` holding the build lock (an atomic `mkdir`), so two processes starting the app at once
 * (two test files, a test and the screenshot script) never build into the same folder together.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const held = await stat(LOCK).catch(() => undefined);
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** Builds the app unless `distDir` already holds a fresh build; says so through `log`. */
export async function ensureAppBuilt({
  distDir = defaultDistDir,
  rebuild = false,
  log,
}: { distDir?: string; rebuild?: boolean; log?: ((message: string) => void) | undefined } = {}): Promise<void> {
  if (!rebuild && (await isBuildFresh(distDir))) return;
  if (distDir !== defaultDistDir) throw new Error(`${distDir} holds no fresh build of the app; run \`npm run build:app\`.`);
  await withBuildLock(async () => {
    // Another process may have built it while this one waited for the lock.
    if (!rebuild && (await isBuildFresh(distDir))) return;
    log?.("building the app (vite build app/) ...");
    await buildApp();
  });
}
