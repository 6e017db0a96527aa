// `tsx scripts/lib/devnet/serveChain.ts [dir]`: a standalone local chain on any free port for tests
// (the protocol deployed, address book written, one JSON line, served until Ctrl-C). People use
// `npx shardholder chain` (scripts/chain.ts): a fixed port, a compile first, a guarded address book.
import { startLocalChain } from "./chain.ts";

const chain = await startLocalChain({ deploymentsDir: process.argv[2] ?? "deployments" });
console.log(JSON.stringify({ rpcUrl: chain.rpcUrl, deploymentsFile: chain.deploymentsFile }));
const stop = () => void chain.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
