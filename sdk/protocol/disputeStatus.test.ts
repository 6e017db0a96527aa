import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { computeLedgerAbi } from "../abi/computeLedger.ts";
import { DisputeKind, DisputeStatus, toDisputeKind, toDisputeStatus } from "./disputeStatus.ts";

const typesSol = readFileSync(new URL("../../contracts/interfaces/IComputeLedgerTypes.sol", import.meta.url), "utf8");

/** Member names of `enum <name> { ... }` in declaration order (comments stripped). */
function solidityEnum(source: string, name: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const body = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(code)?.[1];
  if (body === undefined) throw new Error(`enum ${name} not found`);
  return body
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
}

/** The `internalType` of a field of the ledger's `dispute(uint256)` return struct. */
function disputeFieldType(field: string): string | undefined {
  const fn = computeLedgerAbi.find((x) => x.type === "function" && x.name === "dispute");
  const struct = fn && "outputs" in fn ? fn.outputs[0] : undefined;
  const components = struct && "components" in struct ? (struct.components as readonly { name: string; internalType: string }[]) : [];
  return components.find((c) => c.name === field)?.internalType;
}

describe("DisputeStatus and DisputeKind mirror the ledger's enums", () => {
  it("have the Solidity members, in declaration order (a reordered or added member fails here)", () => {
    expect(Object.entries(DisputeStatus)).toEqual(solidityEnum(typesSol, "DisputeStatus").map((name, i) => [name, i]));
    expect(Object.entries(DisputeKind)).toEqual(solidityEnum(typesSol, "DisputeKind").map((name, i) => [name, i]));
  });

  it("are the enums the ABI's dispute struct is typed with", () => {
    expect(disputeFieldType("status")).toBe("enum IComputeLedgerTypes.DisputeStatus");
    expect(disputeFieldType("kind")).toBe("enum IComputeLedgerTypes.DisputeKind");
  });

  it("narrow decoded values and reject ones a newer ledger could add", () => {
    expect(toDisputeStatus(2)).toBe(DisputeStatus.Fraud);
    expect(toDisputeKind(2)).toBe(DisputeKind.ChainBreak);
    expect(toDisputeKind(3)).toBe(DisputeKind.Serving);
    expect(() => toDisputeStatus(5)).toThrow(/DisputeStatus 5/);
    expect(() => toDisputeKind(4)).toThrow(/DisputeKind 4/);
  });
});
