// `tsx scripts/lib/devnet/serveChain.ts [dir]`: a standalone local chain for `npm start -- --rpc URL
// --deployments FILE` (the protocol deployed, address book written, served until Ctrl-C).
import { startLocalChain } from "./chain.ts";

const chain = await startLocalChain({ deploymentsDir: process.argv[2] ?? "deployments" });
console.log(JSON.stringify({ rpcUrl: chain.rpcUrl, deploymentsFile: chain.deploymentsFile }));
const stop = () => void chain.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
