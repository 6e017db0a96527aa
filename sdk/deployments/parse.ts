import { type Address, getAddress, isAddress } from "viem";
import { InvalidDeploymentsError, NoDeploymentError } from "../errors/sdk.ts";
import { contractNames, type Deployments, type DeploymentsSource } from "./types.ts";

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * Validates parsed JSON as an address book and normalizes addresses to checksummed form.
 *
 * @example
 * const deployments = parseDeployments(JSON.parse(text), "deployments/31337.json")
 */
export function parseDeployments(json: unknown, source?: string): Deployments {
  const fail = (reason: string): never => {
    throw new InvalidDeploymentsError({ reason, source });
  };
  if (!isRecord(json)) return fail("not a JSON object");
  const { chainId, contracts, deployedAtBlock } = json;
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) return fail("`chainId` must be a positive integer");
  if (!isRecord(contracts)) return fail("`contracts` must be an object");
  const out = {} as Record<(typeof contractNames)[number], Address>;
  for (const name of contractNames) {
    const value = contracts[name];
    if (typeof value !== "string" || !isAddress(value, { strict: false })) return fail(`\`contracts.${name}\` must be an address`);
    out[name] = getAddress(value);
  }
  const block = deployedAtBlock ?? 0;
  if (typeof block !== "number" || !Number.isSafeInteger(block) || block < 0) return fail("`deployedAtBlock` must be a block number");
  return { chainId, contracts: out, deployedAtBlock: block };
}

function isDeployments(x: unknown): x is Deployments {
  return isRecord(x) && typeof x.chainId === "number" && isRecord(x.contracts);
}

/**
 * Picks the address book of `chainId` from a source, or throws {@link NoDeploymentError}.
 *
 * @example
 * const d = selectDeployments([local, sepolia], 31337)
 */
export function selectDeployments(source: DeploymentsSource, chainId: number): Deployments {
  const all: Deployments[] = isDeployments(source)
    ? [source]
    : Array.isArray(source)
      ? [...(source as readonly Deployments[])]
      : Object.values(source as Readonly<Record<number, Deployments>>);
  const found = all.find((d) => d.chainId === chainId);
  if (!found) throw new NoDeploymentError({ chainId, known: all.map((d) => d.chainId) });
  return found;
}
