// ComputeLedger DELEGATECALLs its validator and dispute modules, which then read and write the
// ledger's storage with their own compiled layout. Any difference (a variable added to one side,
// reordered, retyped) would silently corrupt state, so the compiler's storage layouts must agree.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

type StorageEntry = { label: string; slot: string; offset: number; type: string };
type Layout = { storage: StorageEntry[]; types: Record<string, { label: string; numberOfBytes: string }> | null };

/** The storage layout solc emitted for `source:name`, from the build the artifact points at. */
function layoutOf(source: string, name: string): Layout {
  const artifact = JSON.parse(readFileSync(path.join(root, "artifacts", source, `${name}.json`), "utf8")) as { buildInfoId: string; inputSourceName: string };
  const output = JSON.parse(readFileSync(path.join(root, "artifacts", "build-info", `${artifact.buildInfoId}.output.json`), "utf8")) as {
    output: { contracts: Record<string, Record<string, { storageLayout?: Layout }>> };
  };
  const layout = output.output.contracts[artifact.inputSourceName]?.[name]?.storageLayout;
  if (!layout) throw new Error(`no storage layout for ${source}:${name}; hardhat.config.ts must select "storageLayout" for the deployed contracts`);
  return layout;
}

/** Slot, offset, name and type label of each variable (type ids embed AST ids, which differ per contract). */
const shape = (l: Layout) => l.storage.map((e) => ({ slot: e.slot, offset: e.offset, label: e.label, type: l.types?.[e.type]?.label ?? e.type }));

describe("storage layout shared through DELEGATECALL", () => {
  const ledger = layoutOf("contracts/ComputeLedger.sol", "ComputeLedger");

  it("the ledger has state to protect (the layout was really read)", () => {
    expect(ledger.storage.length).toBeGreaterThan(5);
  });

  for (const [source, name] of [
    ["contracts/ledger/LedgerValidators.sol", "ComputeLedgerValidatorModule"],
    ["contracts/ledger/LedgerDisputes.sol", "ComputeLedgerDisputeModule"],
  ] as const) {
    it(`${name} declares exactly the ledger's variables at the ledger's slots`, () => {
      expect(shape(layoutOf(source, name))).toEqual(shape(ledger));
    });
  }
});
