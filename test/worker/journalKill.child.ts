// Child process of journalKill.test.ts: runs the worker loop against the parent's witness
// ledger and prints one line per fsynced record, so the parent knows what must survive kill -9.
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { httpLedger } from "./journalWitness.ts";
import { runWorkerLoop } from "./journalWorkerLoop.ts";

const [dir, url, ledgerAddress, signingKey, worker, sender] = process.argv.slice(2) as [string, string, Address, Hex, Address, Address];
const config = JSON.parse(process.env.LOOP_CONFIG ?? "{}") as { rounds: number; stepsPerRound: number; microbatchesPerStep: number; batchSize: number; elements: number };

await runWorkerLoop({
  dir,
  ledger: httpLedger(url, sender),
  ledgerAddress,
  chainId: 31337,
  signer: privateKeyToAccount(signingKey),
  worker,
  modelId: 1n,
  stage: 1,
  ...config,
  onOpen: (info) => process.stdout.write(`open ${info.existingRecords} ${info.tornBytesDropped}\n`),
  onAppend: (r) => process.stdout.write(`ack ${r.seq} ${r.type}\n`),
});
process.stdout.write("done\n");
