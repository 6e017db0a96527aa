// The serving operator's loop: make sure its pipeline is registered (every stage operator
// consented), find live requests naming that pipeline on the escrow, fetch each prompt from the
// content store (hash-checked by construction), generate through the pipeline and fulfil on-chain
// with the output's hash and every stage's signed serving commitment; once a fulfilled request's
// challenge window is over, release the operators' held shares.
import { type Address, type Hex, isAddressEqual, type PublicClient, type WalletClient } from "viem";
import { getBlock, getBlockNumber, readContract } from "viem/actions";
import { inferenceEscrowAbi } from "../../sdk/abi/inferenceEscrow.ts";
import { fulfillInference } from "../../sdk/actions/inference/fulfillInference.ts";
import { getInferenceRequests } from "../../sdk/actions/inference/getInferenceRequests.ts";
import { registerPipeline } from "../../sdk/actions/inference/registerPipeline.ts";
import { releaseInferenceFees } from "../../sdk/actions/inference/servingWrites.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { pipelineKey } from "../../sdk/protocol/pipelineConsent.ts";
import type { GeneratedAnswer } from "./pipelineServe.ts";
import type { ContentStore } from "./store.ts";

/** What the operator reports for each request it handled. */
export type ServedRequest =
  | {
      requestId: bigint;
      status: "fulfilled";
      output: string;
      outputHash: Hex;
      txHash: Hex;
      gasUsed: bigint;
      generateMs: number;
      holdersWei: bigint;
      operatorFeeWeiPerStage: bigint;
      servingRoot: Hex;
      /** Unix seconds (chain clock) after which the operators' shares can be released. */
      challengeableUntil: bigint;
    }
  | { requestId: bigint; status: "skipped"; reason: string };

export type ServingOperatorParameters = {
  client: PublicClient;
  wallet: WalletClient;
  deployments: Deployments;
  modelId: bigint;
  store: ContentStore;
  /**
   * Generates the text of a request through the pipeline, with every stage's signed commitment;
   * `onText` (when given) receives the text as it is generated, for streaming clients.
   */
  generate: (request: { requestId: bigint; inputHash: Hex; prompt: string }, onText?: (text: string) => void) => Promise<GeneratedAnswer>;
  /** Operator of each stage, in stage order (credited by the escrow); the wallet's account among them. */
  stageOperators: readonly Address[];
  /**
   * Consents of the other operators (`consentToPipeline`, same deadline), used to register the
   * pipeline if it is not registered yet. Not needed when the wallet's account serves every stage.
   */
  consents?: { deadline: bigint; signatures: Readonly<Record<Address, Hex>> } | undefined;
  pollMs?: number | undefined;
  /** How long to wait for a prompt upload after its request was seen. */
  promptWaitMs?: number | undefined;
  onServed?: ((served: ServedRequest) => void) | undefined;
  /** Told of each release of a fulfilled request's held shares (`txHash`) or of a failed attempt (`reason`; retried later). */
  onReleased?: ((released: ReleasedRequest) => void) | undefined;
  signal: AbortSignal;
};

/** A fulfilled request's operator shares released (or an attempt that failed and will be retried). */
export type ReleasedRequest = { requestId: bigint; txHash: Hex; gasUsed: bigint } | { requestId: bigint; reason: string };

/** A fulfilled request whose shares are still held. */
type Held = { requestId: bigint; outputHash: Hex; servingRoot: Hex; until: bigint; retryAt: number };

/** How long a failed release waits before it is tried again. */
const RELEASE_RETRY_MS = 30_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** Thrown when the operator's pipeline is not registered and it cannot register it alone. */
export class PipelineNotRegisteredError extends Error {
  constructor(readonly pipelineKey: Hex) {
    super(`pipeline ${pipelineKey} is not registered: every other stage operator must consent (consentToPipeline), then registerPipeline`);
    this.name = "PipelineNotRegisteredError";
  }
}

/**
 * Registers the operator's pipeline if needed: alone when the wallet's account serves every
 * stage, otherwise with the other operators' consents. Returns its key.
 */
export async function ensurePipeline(
  p: Pick<ServingOperatorParameters, "client" | "wallet" | "deployments" | "modelId" | "stageOperators" | "consents">,
): Promise<Hex> {
  const key = pipelineKey(p.modelId, p.stageOperators);
  const [registered] = await readContract(p.client, {
    abi: inferenceEscrowAbi,
    address: p.deployments.contracts.inferenceEscrow,
    functionName: "pipeline",
    args: [key],
  });
  if (registered) return key;
  const self = p.wallet.account?.address;
  const alone = self !== undefined && p.stageOperators.every((op) => isAddressEqual(op, self));
  if (!alone && !p.consents) throw new PipelineNotRegisteredError(key);
  const consentDeadline = p.consents?.deadline ?? (await getBlock(p.client)).timestamp + 600n;
  await registerPipeline(p.wallet, {
    deployments: p.deployments,
    modelId: p.modelId,
    stageOperators: p.stageOperators,
    consentDeadline,
    consents: p.consents?.signatures,
  });
  return key;
}

/**
 * Serves requests naming its pipeline made from now on, until `signal` aborts (registering the
 * pipeline first if needed). Requests are handled in order of their events; a request whose
 * deadline has passed or whose prompt never arrives is skipped.
 */
export async function runServingOperator(p: ServingOperatorParameters): Promise<void> {
  // Requests can only name the pipeline once it is registered, so starting before registering misses none.
  let fromBlock = await getBlockNumber(p.client);
  const key = await ensurePipeline(p);
  const held: Held[] = [];
  while (!p.signal.aborted) {
    await releaseDue(p, held);
    const head = await getBlockNumber(p.client);
    if (head >= fromBlock) {
      const requests = await getInferenceRequests(p.client, { deployments: p.deployments, pipelineKey: key, fromBlock, toBlock: head });
      fromBlock = head + 1n;
      for (const r of requests) {
        if (p.signal.aborted) return;
        // Not `p.onServed?.(await serveOne(…))`: optional-call arguments are skipped when there is no callback.
        const served = await serveOne(p, r.requestId, r.inputHash, r.deadline);
        if (served.status === "fulfilled") held.push({ ...served, until: served.challengeableUntil, retryAt: 0 });
        p.onServed?.(served);
      }
    }
    await sleep(p.pollMs ?? 200, p.signal);
  }
}

async function serveOne(p: ServingOperatorParameters, requestId: bigint, inputHash: Hex, deadline: bigint): Promise<ServedRequest> {
  const prompt = await p.store.waitInput(inputHash, p.promptWaitMs ?? 10_000);
  if (prompt === undefined) return { requestId, status: "skipped", reason: "prompt never uploaded" };
  const started = performance.now();
  let answer: GeneratedAnswer;
  try {
    answer = await p.generate({ requestId, inputHash, prompt }, (text) => p.store.appendPartial(requestId, text));
  } catch (err) {
    // A pipeline that fails one request (a refused frame, a lost link) must not stop the operator.
    const reason = `generation failed: ${err instanceof Error ? err.message : String(err)}`;
    p.store.abandon(requestId, reason);
    return { requestId, status: "skipped", reason };
  }
  const output = answer.text;
  const generateMs = performance.now() - started;
  const block = await p.client.getBlock();
  if (block.timestamp >= deadline) {
    p.store.abandon(requestId, "deadline passed");
    return { requestId, status: "skipped", reason: "deadline passed" };
  }
  const outputHash = p.store.putOutput(requestId, output);
  const result = await fulfillInference(p.wallet, {
    deployments: p.deployments,
    requestId,
    outputHash,
    commitments: answer.commitments,
    signatures: answer.signatures,
    stageOperators: p.stageOperators,
  });
  return {
    requestId,
    status: "fulfilled",
    output,
    outputHash,
    txHash: result.transactionHash,
    gasUsed: result.receipt.gasUsed,
    generateMs,
    holdersWei: result.holdersWei,
    operatorFeeWeiPerStage: result.operatorFeeWeiPerStage,
    servingRoot: result.servingRoot,
    challengeableUntil: result.challengeableUntil,
  };
}

/**
 * Releases the held shares of every fulfilled request whose challenge window is over by the chain
 * clock (the latest block's time); a failed release (an open dispute, a node behind) is reported
 * and retried after {@link RELEASE_RETRY_MS}. Released requests leave `held`.
 */
async function releaseDue(p: ServingOperatorParameters, held: Held[]): Promise<void> {
  if (held.length === 0) return;
  const now = (await getBlock(p.client)).timestamp;
  for (const h of [...held]) {
    if (p.signal.aborted) return;
    if (now < h.until || performance.now() < h.retryAt) continue;
    try {
      const released = await releaseInferenceFees(p.wallet, { deployments: p.deployments, requestId: h.requestId });
      const [txHash, receipt] = [released.transactionHash, released.receipt];
      held.splice(held.indexOf(h), 1);
      p.onReleased?.({ requestId: h.requestId, txHash, gasUsed: receipt.gasUsed });
    } catch (err) {
      h.retryAt = performance.now() + RELEASE_RETRY_MS;
      p.onReleased?.({ requestId: h.requestId, reason: err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err) });
    }
  }
}
