/**
 * `@shardholder/sdk/node`: the Node-only helpers (they read files). Kept out of the main entry so
 * browser bundles never see `node:fs`.
 */
export * from "./deployments/node.ts";
