// Child process of journalKill.test.ts: runs the worker loop against the real ComputeLedger (the
// parent's in-process chain over HTTP, through the SDK submitter) and prints one line per fsynced
// record, so the parent knows what must survive kill -9.
import { createPublicClient, createWalletClient, type Hex, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { sdkCommitmentLedger } from "../../worker/commit/index.ts";
import { runWorkerLoop } from "./journalWorkerLoop.ts";

type ChildConfig = {
  rounds: number;
  stepsPerRound: number;
  microbatchesPerStep: number;
  batchSize: number;
  elements: number;
  rpcUrl: string;
  deployments: Deployments;
  senderKey: Hex;
  signingKey: Hex;
};

const [dir] = process.argv.slice(2) as [string];
const config = JSON.parse(process.env.LOOP_CONFIG ?? "{}") as ChildConfig;
const account = privateKeyToAccount(config.senderKey);
const transport = http(config.rpcUrl);
const publicClient = createPublicClient({ transport });
const wallet = createWalletClient({ account, transport });

await runWorkerLoop({
  dir,
  ledger: sdkCommitmentLedger(wallet, { deployments: config.deployments, account }),
  ledgerAddress: config.deployments.contracts.computeLedger,
  chainId: config.deployments.chainId,
  signer: privateKeyToAccount(config.signingKey),
  worker: account.address,
  modelId: 1n,
  stage: 1,
  ...config,
  waitForRound: async (round) => {
    while ((await getCurrentRound(publicClient, { deployments: config.deployments, modelId: 1n })) < round)
      await new Promise((r) => setTimeout(r, 15));
  },
  onOpen: (info) => process.stdout.write(`open ${info.existingRecords} ${info.tornBytesDropped}\n`),
  onAppend: (r) => process.stdout.write(`ack ${r.seq} ${r.type}\n`),
});
process.stdout.write("done\n");
