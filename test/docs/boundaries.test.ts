// What ships may not depend on what does not: the worker and the SDK never import dev tools
// (cheating miners, the toy model, reference pipelines and the full reference model, the
// in-process training step and throughput harness, the validator scenario harness) or tests, and
// scripts (the devnet and benches) never import tests.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "dist") out.push(...sourceFiles(rel));
    } else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name)) out.push(rel);
  }
  return out;
}

/** Repository-relative targets of a file's relative imports (static, dynamic and re-exports). */
export function importedPaths(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1] as string);
  return specifiers.map((s) => path.relative(repoRoot, path.resolve(repoRoot, path.dirname(file), s)));
}

function offenders(dirs: string[], forbidden: string[], skip: (file: string) => boolean): string[] {
  const found: string[] = [];
  for (const file of dirs.flatMap(sourceFiles)) {
    if (skip(file)) continue;
    for (const target of importedPaths(file, readFileSync(path.join(repoRoot, file), "utf8"))) {
      if (forbidden.some((f) => target === f || target.startsWith(`${f}/`))) found.push(`${file} -> ${target}`);
    }
  }
  return found;
}

const isTest = (file: string) => /\.test\.tsx?$/.test(file);

describe("module boundaries", () => {
  it("finds the relative imports of a file, so the checks below can fail", () => {
    const text = 'import { a } from "../../dev/cheat/miner.ts";\nexport { b } from "./b.ts";\nconst c = await import("../x.ts");';
    expect(importedPaths("worker/cli/main.ts", text)).toEqual(["dev/cheat/miner.ts", "worker/cli/b.ts", "worker/x.ts"]);
  });

  it("the shipped worker and SDK import neither dev/ nor test/ (their own tests may)", () => {
    expect(offenders(["worker", "sdk", "packages"], ["dev", "test"], isTest)).toEqual([]);
  });

  it("scripts/ and dev/ never import test/", () => {
    expect(offenders(["scripts", "dev"], ["test"], () => false)).toEqual([]);
  });

  it("the worker's stage config knows no toy model kind", () => {
    const config = readFileSync(path.join(repoRoot, "worker/pipeline/config.ts"), "utf8");
    expect(config).not.toMatch(/["']toy["']/);
  });
});
