import type { Address } from "viem";

/** Names of the protocol contracts in an address book. */
export const contractNames = [
  "modelRegistry",
  "modelTokenImplementation",
  "computeLedger",
  "inferenceEscrow",
  "revenueClaimer",
  "servingDirectory",
  "stageDirectory",
] as const;

export type ContractName = (typeof contractNames)[number];

/**
 * An address book, one per chain: `deployments/<chainId>.json`, written by the deploy script
 * (`scripts/lib/deploy.ts`). `deployedAtBlock` bounds event scans from below.
 *
 * @example
 * {
 *   "chainId": 31337,
 *   "contracts": { "modelRegistry": "0x…", "modelTokenImplementation": "0x…", "computeLedger": "0x…",
 *                  "inferenceEscrow": "0x…", "revenueClaimer": "0x…", "servingDirectory": "0x…",
 *                  "stageDirectory": "0x…" },
 *   "deployedAtBlock": 7
 * }
 */
export type Deployments = {
  chainId: number;
  contracts: Record<ContractName, Address>;
  deployedAtBlock: number;
};

/** What the SDK accepts as address books: one, several, or a map keyed by chain id. */
export type DeploymentsSource = Deployments | readonly Deployments[] | Readonly<Record<number, Deployments>>;
