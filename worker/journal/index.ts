export * from "./checkpoint.ts";
export * from "./errors.ts";
export * from "./journal.ts";
export * from "./records.ts";
export * from "./replay.ts";
export * from "./compact.ts";
