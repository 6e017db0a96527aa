export * from "./base.ts";
export * from "./contract.ts";
export * from "./contractErrors.ts";
export * from "./decode.ts";
export * from "./sdk.ts";
export * from "./inference.ts";
