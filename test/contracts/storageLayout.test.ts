// ComputeLedger DELEGATECALLs its validator and dispute modules, which then read and write the
// ledger's storage with their own compiled layout. Any difference (a variable added to one side,
// reordered, retyped) would silently corrupt state, so the compiler's storage layouts must agree.
// The layouts come from the project's solc (wasm) asked for `storageLayout` alone: no code is
// generated, so this is quick and leaves the build's own settings alone.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const solc = require("solc") as {
  compile(input: string, callbacks: { import(p: string): { contents: string } | { error: string } }): string;
};

type StorageEntry = { label: string; slot: string; offset: number; type: string };
type Layout = { storage: StorageEntry[]; types: Record<string, { label: string }> | null };

const CONTRACTS = {
  "contracts/ComputeLedger.sol": "ComputeLedger",
  "contracts/ledger/LedgerValidators.sol": "ComputeLedgerValidatorModule",
  "contracts/ledger/LedgerDisputes.sol": "ComputeLedgerDisputeModule",
} as const;

/** Resolves `contracts/...` from the repository and `@openzeppelin/...` from node_modules, as the build does. */
function readSource(sourcePath: string): { contents: string } | { error: string } {
  const file = sourcePath.startsWith("contracts/") ? path.join(root, sourcePath) : path.join(root, "node_modules", sourcePath);
  try {
    return { contents: readFileSync(file, "utf8") };
  } catch {
    return { error: `not found: ${sourcePath}` };
  }
}

function storageLayouts(): Record<string, Layout> {
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(Object.keys(CONTRACTS).map((p) => [p, { content: readFileSync(path.join(root, p), "utf8") }])),
    settings: {
      evmVersion: "cancun",
      outputSelection: Object.fromEntries(Object.entries(CONTRACTS).map(([p, name]) => [p, { [name]: ["storageLayout"] }])),
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: readSource })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { storageLayout: Layout }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  return Object.fromEntries(Object.entries(CONTRACTS).map(([p, name]) => [name, output.contracts?.[p]?.[name]?.storageLayout as Layout]));
}

/** Slot, offset, name and type label of each variable (type ids embed AST ids, which differ per contract). */
const shape = (l: Layout) =>
  l.storage.map((e) => ({ slot: e.slot, offset: e.offset, label: e.label, type: l.types?.[e.type]?.label ?? e.type }));

describe("storage layout shared through DELEGATECALL", () => {
  let layouts: Record<string, Layout>;
  beforeAll(() => {
    layouts = storageLayouts();
  });

  it("the ledger has state to protect (the layout was really read)", () => {
    expect(layouts.ComputeLedger?.storage.length).toBeGreaterThan(5);
  });

  for (const name of ["ComputeLedgerValidatorModule", "ComputeLedgerDisputeModule"]) {
    it(`${name} declares exactly the ledger's variables at the ledger's slots`, () => {
      const ledger = layouts.ComputeLedger as Layout;
      expect(shape(layouts[name] as Layout)).toEqual(shape(ledger));
    });
  }
});
