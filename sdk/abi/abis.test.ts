import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  abiDir,
  readArtifactAbi,
  renderAbiIndex,
  renderAbiItems,
  renderAbiModule,
  renderErrorClasses,
  sdkContracts,
} from "../../scripts/gen-abis.ts";

describe("generated ABIs", () => {
  it("are up to date with a fresh compile (run `npx tsx scripts/gen-abis.ts` if this fails)", async () => {
    // `npm test` runs `hardhat compile` before vitest, so the artifacts read here are a fresh compile;
    // compiling again inside the test would take minutes with the wasm solc.
    const present: Array<(typeof sdkContracts)[number]> = [];
    const abis: Array<{ contract: string; abi: unknown[] }> = [];
    const missing: string[] = [];
    for (const entry of sdkContracts) {
      const abi = await readArtifactAbi(entry.contract);
      if (!abi) {
        missing.push(entry.contract);
        continue;
      }
      present.push(entry);
      abis.push({ contract: entry.contract, abi });
      const committed = await readFile(path.join(abiDir, `${entry.file}.ts`), "utf8");
      expect(committed, `sdk/abi/${entry.file}.ts is stale`).toBe(renderAbiModule(entry.contract, entry.constant, abi));
      const items = await readFile(path.join(abiDir, "items", `${entry.file}.ts`), "utf8");
      expect(items, `sdk/abi/items/${entry.file}.ts is stale`).toBe(renderAbiItems(entry.contract, abi));
    }
    expect(await readFile(path.join(abiDir, "index.ts"), "utf8")).toBe(renderAbiIndex(present));
    const errors = await readFile(path.join(abiDir, "..", "errors", "contractErrors.ts"), "utf8");
    expect(errors, "sdk/errors/contractErrors.ts is stale").toBe(renderErrorClasses(abis));
    expect(missing, "contracts without an artifact").toEqual([]);
  });
});
