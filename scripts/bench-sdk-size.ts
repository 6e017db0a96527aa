/**
 * Bundle sizes of dapps using `@shardholder/sdk`, written to bench/sdk-size.json and quoted in
 * sdk/README.md: builds packages/sdk (tsc, `node packages/sdk/build.mjs`), then bundles small apps
 * importing one action, the inference path, the decorator, and everything, with esbuild (minified
 * ESM for the browser, code splitting on, as a dapp's bundler would). `sdk` is the SDK's own code
 * loaded up front, viem left out (every viem app has it); `sdkLazy` the chunk fetched on the first
 * revert (the error registry); `withViem` what the page loads up front, viem included.
 * The table between the sdk-size markers of sdk/README.md is rewritten from the same numbers.
 *   npx tsx scripts/bench-sdk-size.ts
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { measureSdkApps } from "./lib/sdkSize.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const packageDir = path.join(root, "packages", "sdk");

execFileSync(process.execPath, [path.join(packageDir, "build.mjs")], { stdio: "inherit" });
const apps = await measureSdkApps(packageDir);
const esbuildVersion = (
  JSON.parse(await readFile(path.join(root, "node_modules", "esbuild", "package.json"), "utf8")) as { version: string }
).version;
const viemVersion = (JSON.parse(await readFile(path.join(root, "node_modules", "viem", "package.json"), "utf8")) as { version: string })
  .version;
const report = {
  machine: `${os.cpus().length} cores, Node ${process.version}`,
  measuredAt: new Date().toISOString(),
  method: `esbuild ${esbuildVersion}: bundle, minify, format esm, platform browser, splitting; gzip level 9. viem ${viemVersion}.`,
  apps,
};
await mkdir(path.join(root, "bench"), { recursive: true });
await writeFile(path.join(root, "bench", "sdk-size.json"), `${JSON.stringify(report, null, 2)}\n`);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
for (const [name, a] of Object.entries(apps))
  console.log(
    `${name.padEnd(48)} sdk ${kb(a.sdk.minified)} (${kb(a.sdk.gzipped)} gz) + lazy ${kb(a.sdkLazy.minified)}; with viem ${kb(a.withViem.minified)} (${kb(a.withViem.gzipped)} gz)`,
  );

const readmeFile = path.join(root, "sdk", "README.md");
const readme = await readFile(readmeFile, "utf8");
const table = [
  "| app | imports | SDK | SDK gzip | lazy | with viem | with viem gzip |",
  "|---|---|---|---|---|---|---|",
  ...Object.entries(apps).map(
    ([name, a]) =>
      `| ${name.replace(/ \(.*\)$/, "")} | \`${a.imports.replace(/^import |;$/g, "").replace(/ from .*/, "")}\` | ${kb(a.sdk.minified)} | ${kb(a.sdk.gzipped)} | ${kb(a.sdkLazy.minified)} | ${kb(a.withViem.minified)} | ${kb(a.withViem.gzipped)} |`,
  ),
];
const marked = /(<!-- sdk-size:start[^\n]*-->\n)[\s\S]*?(<!-- sdk-size:end -->)/;
if (!marked.test(readme)) throw new Error("sdk/README.md lost its sdk-size markers");
await writeFile(
  readmeFile,
  readme.replace(marked, (_, start: string, end: string) => `${start}${table.join("\n")}\n${end}`),
);
