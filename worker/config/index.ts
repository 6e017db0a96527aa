export * from "./errors.ts";
export * from "./options.ts";
export * from "./network.ts";
