export * from "./commitment.ts";
export * from "./ledger.ts";
export * from "./submit.ts";
export * from "./rounds.ts";
