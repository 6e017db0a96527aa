import path from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import { parseDeployments } from "../../../sdk/deployments/parse.ts";
import { checkExistingChain } from "./preflight.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import { serveRpc } from "../rpcServer.ts";

/** A chain the devnet talks to over HTTP JSON-RPC, with its address book on disk. */
export type DevChain = {
  rpcUrl: string;
  deployments: Deployments;
  deploymentsFile: string;
  /** Set for the in-process chain: lets the devnet move time. */
  connection?: NetworkConnection | undefined;
  close(): Promise<void>;
};

/**
 * In-process Hardhat chain served on `host:port` (default loopback, any free port), protocol
 * deployed through Ignition, address book written to `deploymentsFile` or `<deploymentsDir>/<chainId>.json`.
 */
export async function startLocalChain({
  deploymentsDir = "deployments",
  deploymentsFile: bookFile,
  host,
  port,
}: {
  deploymentsDir?: string;
  deploymentsFile?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
} = {}): Promise<DevChain> {
  // Loaded here, not at the top: `--rpc` runs never need Hardhat or Ignition, and fail faster without them.
  const [{ default: hre }, { deployProtocol, writeAddressBook, writeAddressBookFile }] = await Promise.all([
    import("hardhat"),
    import("../deploy.ts"),
  ]);
  const connection = await hre.network.create();
  let rpc: Awaited<ReturnType<typeof serveRpc>>;
  try {
    rpc = await serveRpc(connection.provider, { host: host ?? "127.0.0.1", port: port ?? 0 });
  } catch (err) {
    await connection.close();
    throw err;
  }
  try {
    const book = await deployProtocol(connection);
    const deploymentsFile = bookFile ? await writeAddressBookFile(book, bookFile) : await writeAddressBook(book, deploymentsDir);
    return {
      rpcUrl: rpc.url,
      deployments: parseDeployments(book, deploymentsFile),
      deploymentsFile,
      connection,
      close: async () => {
        await rpc.close();
        await connection.close();
      },
    };
  } catch (err) {
    await rpc.close();
    await connection.close();
    throw err;
  }
}

/**
 * An existing chain (`--rpc`, `--deployments`): nothing to start or stop. Fails fast with the
 * CLI's errors (unreachable RPC, wrong chain, missing or stale address book), see `checkExistingChain`.
 */
export async function attachChain(rpcUrl: string, deploymentsFile: string): Promise<DevChain> {
  const { deployments } = await checkExistingChain(rpcUrl, deploymentsFile);
  return { rpcUrl, deployments, deploymentsFile: path.resolve(deploymentsFile), close: async () => {} };
}

/**
 * Moves the chain clock to `timestamp` (seconds) with one mined block: `evm_setNextBlockTimestamp`
 * + `evm_mine`, which Hardhat and anvil both accept over JSON-RPC. A chain already past it is left
 * as it is (never moved back).
 */
export async function setChainTime(rpcUrl: string, timestamp: bigint): Promise<void> {
  const call = async (method: string, params: unknown[]) => {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
  };
  try {
    await call("evm_setNextBlockTimestamp", [Number(timestamp)]);
  } catch (err) {
    // The clock only moves forward: a chain already past `timestamp` (a dispute's appeal windows
    // moved it, or blocks were mined meanwhile) is where the caller wanted it, or later.
    if (!/lower than the previous block's timestamp|is lower than or equal to/i.test((err as Error).message)) throw err;
    return;
  }
  await call("evm_mine", []);
}
