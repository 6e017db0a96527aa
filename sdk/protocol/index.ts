export * from "./commitment.ts";
export * from "./merkle.ts";
export * from "./seed.ts";
export * from "./tensorBytes.ts";
export * from "./committedItem.ts";
export * from "./pipelineConsent.ts";
export * from "./servingEndpoint.ts";
export * from "./disputeStatus.ts";
