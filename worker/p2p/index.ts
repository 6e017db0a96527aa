export * from "./errors.ts";
export * from "./frames.ts";
export * from "./link.ts";
export * from "./node.ts";
export * from "./pipe.ts";
export * from "./wire.ts";
export * from "./hello.ts";
