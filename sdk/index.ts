export * from "./errors/base.ts";
export * from "./protocol/index.ts";
