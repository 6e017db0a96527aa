// Builds dist/ from the SDK sources in ../../sdk: ESM JavaScript plus .d.ts, one file per source
// module (tsc; see README "Build"). Run by `npm run build` and by `prepack`, never on install.
import { spawnSync } from "node:child_process";
import { copyFile, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");

await rm(dist, { recursive: true, force: true });
// Everything goes to stderr: `npm pack --json` prints its report on stdout.
// tsc is the workspace root's (a devDependency there); resolved from here so `npm pack` inside
// packages/sdk finds it too.
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const run = spawnSync(process.execPath, [tsc, "-p", path.join(here, "tsconfig.json")], { stdio: ["ignore", 2, 2] });
if (run.status !== 0) process.exit(run.status ?? 1);

// tsc rewrites `./x.ts` to `./x.js` in the emitted JavaScript but not in declaration files
// (microsoft/TypeScript#61037). TypeScript itself accepts `.ts` specifiers in a .d.ts, but other
// tools reading them (editors, api-extractor, bundled-dts plugins) do not, so rewrite them too.
const relativeTs = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g;
async function* declarations(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* declarations(full);
    else if (entry.name.endsWith(".d.ts")) yield full;
  }
}
let rewritten = 0;
for await (const file of declarations(dist)) {
  const text = await readFile(file, "utf8");
  const fixed = text.replace(relativeTs, (_, head, spec, tail) => `${head}${spec}.js${tail}`);
  if (fixed !== text) {
    rewritten++;
    await writeFile(file, fixed);
  }
}
// The package's README is the SDK's (sdk/README.md, where the examples test checks it).
await copyFile(path.join(here, "..", "..", "sdk", "README.md"), path.join(here, "README.md"));
console.error(`built ${path.relative(process.cwd(), dist) || "dist"} (${rewritten} declaration files had .ts specifiers rewritten)`);
