import hre from "hardhat";
import { deployProtocol, writeAddressBook } from "./lib/deploy.ts";
import { serveRpc } from "./lib/rpcServer.ts";

/** Starts an in-process chain, serves it on loopback, deploys the protocol and writes the address book. */
async function main() {
  const connection = await hre.network.create();
  const rpc = await serveRpc(connection.provider);
  const book = await deployProtocol(connection);
  const file = await writeAddressBook(book);
  console.log(`chain ${book.chainId} served at ${rpc.url}`);
  console.table(book.contracts);
  console.log(`address book written to ${file}`);
  await rpc.close();
  await connection.close();
}

main().catch((error: unknown) => {
  console.error(`devnet: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
