// The serving operator's loop: find live requests of its model on the escrow, fetch each prompt
// from the content store (hash-checked by construction), generate through the pipeline and
// fulfil on-chain with the output's hash, crediting every stage's operator.
import type { Address, Hex, PublicClient, WalletClient } from "viem";
import { getBlockNumber, getContractEvents } from "viem/actions";
import { inferenceEscrowAbi } from "../../sdk/abi/inferenceEscrow.ts";
import { fulfillInference } from "../../sdk/actions/inference/fulfillInference.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import type { ContentStore } from "./store.ts";

/** What the operator reports for each request it handled. */
export type ServedRequest =
  | { requestId: bigint; status: "fulfilled"; output: string; outputHash: Hex; txHash: Hex; gasUsed: bigint; generateMs: number; holdersWei: bigint; operatorFeeWeiPerStage: bigint }
  | { requestId: bigint; status: "skipped"; reason: string };

export type ServingOperatorParameters = {
  client: PublicClient;
  wallet: WalletClient;
  deployments: Deployments;
  modelId: bigint;
  store: ContentStore;
  generate: (prompt: string) => Promise<string>;
  /** Operator of each stage, in stage order (credited by the escrow). */
  stageOperators: readonly Address[];
  pollMs?: number | undefined;
  /** How long to wait for a prompt upload after its request was seen. */
  promptWaitMs?: number | undefined;
  onServed?: ((served: ServedRequest) => void) | undefined;
  signal: AbortSignal;
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Serves requests of `modelId` made from now on, until `signal` aborts. Requests are handled in
 * order of their events; a request whose deadline has passed or whose prompt never arrives is skipped.
 */
export async function runServingOperator(p: ServingOperatorParameters): Promise<void> {
  const escrow = { abi: inferenceEscrowAbi, address: p.deployments.contracts.inferenceEscrow } as const;
  let fromBlock = await getBlockNumber(p.client);
  while (!p.signal.aborted) {
    const head = await getBlockNumber(p.client);
    if (head >= fromBlock) {
      const logs = await getContractEvents(p.client, { ...escrow, eventName: "InferenceRequested", args: { modelId: p.modelId }, fromBlock, toBlock: head, strict: true });
      fromBlock = head + 1n;
      for (const log of logs) {
        if (p.signal.aborted) return;
        p.onServed?.(await serveOne(p, log.args.requestId, log.args.inputHash, log.args.deadline));
      }
    }
    await sleep(p.pollMs ?? 200, p.signal);
  }
}

async function serveOne(p: ServingOperatorParameters, requestId: bigint, inputHash: Hex, deadline: bigint): Promise<ServedRequest> {
  const prompt = await p.store.waitInput(inputHash, p.promptWaitMs ?? 10_000);
  if (prompt === undefined) return { requestId, status: "skipped", reason: "prompt never uploaded" };
  const started = performance.now();
  const output = await p.generate(prompt);
  const generateMs = performance.now() - started;
  const block = await p.client.getBlock();
  if (block.timestamp >= deadline) return { requestId, status: "skipped", reason: "deadline passed" };
  const outputHash = p.store.putOutput(requestId, output);
  const result = await fulfillInference(p.wallet, { deployments: p.deployments, requestId, outputHash, stageOperators: p.stageOperators });
  return { requestId, status: "fulfilled", output, outputHash, txHash: result.transactionHash, gasUsed: result.receipt.gasUsed, generateMs, holdersWei: result.holdersWei, operatorFeeWeiPerStage: result.operatorFeeWeiPerStage };
}
