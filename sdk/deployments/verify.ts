import { type Abi, type Address, toFunctionSelector } from "viem";
import { getCode } from "viem/actions";
import { protocolAbis } from "../abi/index.ts";
import { NotOurContractError } from "../errors/sdk.ts";
import type { ShardholderClient } from "../actions/internal/client.ts";
import type { ContractName, Deployments } from "./types.ts";

const abiOfContract: Record<ContractName, string> = {
  modelRegistry: "ModelRegistry",
  modelTokenImplementation: "ModelToken",
  computeLedger: "ComputeLedger",
  inferenceEscrow: "InferenceEscrow",
  revenueClaimer: "RevenueClaimer",
  servingDirectory: "ServingDirectory",
  stageDirectory: "StageDirectory",
};

/** 4-byte selectors of every external function of an ABI, as bare hex without the 0x. */
export function functionSelectors(abi: Abi): string[] {
  return abi.filter((item) => item.type === "function").map((item) => toFunctionSelector(item).slice(2));
}

/**
 * Why `code` is not a deployment of `abi`, or undefined when it is. The Solidity dispatcher pushes
 * every external function's selector (PUSH4, or PUSH3 and shorter when it has leading zero
 * bytes), so code that lacks one of them cannot be our contract.
 */
export function codeMismatch(code: string | undefined, abi: Abi): string | undefined {
  if (!code || code === "0x") return "there is no code at the address";
  const lower = code.toLowerCase();
  const missing = functionSelectors(abi).filter((s) => !lower.includes(s.replace(/^(00)+/, "")));
  return missing.length ? `its code lacks ${missing.length} of our function selectors (e.g. 0x${missing[0]})` : undefined;
}

/**
 * Checks that every address of the address book holds the protocol's contract: code exists and
 * dispatches every function of the contract's ABI. Throws {@link NotOurContractError} otherwise.
 *
 * @example
 * await verifyDeployments(publicClient, deployments)
 */
export async function verifyDeployments(client: ShardholderClient, deployments: Deployments): Promise<void> {
  const byName = new Map<string, Abi>(protocolAbis.map((p) => [p.name, p.abi as Abi]));
  await Promise.all(
    (Object.entries(deployments.contracts) as Array<[ContractName, Address]>).map(async ([name, address]) => {
      const abi = byName.get(abiOfContract[name]);
      if (!abi) return; // ABI not generated yet: nothing to compare against
      const reason = codeMismatch(await getCode(client, { address }), abi);
      if (reason) throw new NotOurContractError({ contract: abiOfContract[name], address, reason });
    }),
  );
}
