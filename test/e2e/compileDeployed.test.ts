// `npm start` compiles only DEPLOYED_CONTRACTS: every contract the Ignition module deploys must be
// defined in one of those files, or a clean clone's first run fails with "Artifact ... not found".
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEPLOYED_CONTRACTS } from "../../scripts/lib/compile.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("what npm start compiles", () => {
  it("DEPLOYED_CONTRACTS_defineEveryContractTheIgnitionModuleDeploys", () => {
    const module = readFileSync(path.join(root, "ignition", "modules", "Shardholder.ts"), "utf8");
    const deployed = [...module.matchAll(/m\.contract\("(\w+)"/g)].map((m) => m[1] as string);
    expect(deployed.length).toBeGreaterThanOrEqual(6);
    const sources = DEPLOYED_CONTRACTS.map((f) => readFileSync(path.join(root, f), "utf8")).join("\n");
    for (const name of deployed) expect(sources, name).toMatch(new RegExp(`^contract ${name}\\b`, "m"));
  });
});
