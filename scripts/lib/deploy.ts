import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import ShardholderModule from "../../ignition/modules/Shardholder.ts";

/** Deploys the protocol through its Ignition module and returns the contracts' addresses. */
export async function deployProtocol(connection: NetworkConnection) {
  const deployed = await connection.ignition.deploy(ShardholderModule);
  const publicClient = await connection.viem.getPublicClient();
  const chainId = await publicClient.getChainId();
  return {
    chainId,
    contracts: {
      modelRegistry: deployed.modelRegistry.address,
      modelTokenImplementation: deployed.modelTokenImplementation.address,
      computeLedger: deployed.computeLedger.address,
      inferenceEscrow: deployed.inferenceEscrow.address,
      revenueClaimer: deployed.revenueClaimer.address,
      servingDirectory: deployed.servingDirectory.address,
      stageDirectory: deployed.stageDirectory.address,
    },
    deployedAtBlock: Number(await publicClient.getBlockNumber()),
  };
}

export type DeployedProtocol = Awaited<ReturnType<typeof deployProtocol>>;

/** Writes the address book the SDK reads: `<dir>/<chainId>.json`. */
export async function writeAddressBook(book: DeployedProtocol, dir = "deployments"): Promise<string> {
  return writeAddressBookFile(book, path.join(dir, `${book.chainId}.json`));
}

/** Writes the address book the SDK reads (`sdk/deployments/types.ts`) to `file`; returns the path. */
export async function writeAddressBookFile(book: DeployedProtocol, file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(book, null, 2)}\n`);
  return file;
}
