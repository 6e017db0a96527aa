import { createPublicClient, createWalletClient, http, parseEther, type Address, type WalletClient } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, signedServing, testSpec } from "../../../test/sdk/fixture.ts";
import { runServingOperator } from "../../../worker/serve/operator.ts";
import { ContentStore, serveContentStore } from "../../../worker/serve/store.ts";
import { inferenceEscrowAbi } from "../../abi/inferenceEscrow.ts";
import { ModelRegistryUnknownModelError } from "../../errors/contractErrors.ts";
import {
  EndpointsUnreachableError,
  InferenceNotDeliveredError,
  InsufficientFundsError,
  InvalidDeadlineError,
  NoServingEndpointError,
  OutputMismatchError,
  PromptEmptyError,
  PromptTooLongError,
  RpcUnreachableError,
} from "../../errors/inference.ts";
import { AccountRequiredError, FeeAboveLimitError, InvalidParameterError, NoServingPipelineError } from "../../errors/sdk.ts";
import { MAX_PROMPT_BYTES, textHash } from "../../protocol/servingEndpoint.ts";
import { checkPrompt, type InferProgress } from "./infer.ts";

const reverse = (text: string) => [...text].reverse().join("");

/** A store that hands out a different text than the one its operator fulfilled with. */
class TamperingStore extends ContentStore {
  override getOutput(requestId: bigint) {
    const real = super.getOutput(requestId);
    return real && { ...real, output: `${real.output}!` };
  }
}

/** A store that lets the generator wait until a client follows the stream (so the test waits on an event, not a clock). */
class FollowedStore extends ContentStore {
  private resolveFollowed: () => void = () => {};
  readonly followed = new Promise<void>((resolve) => (this.resolveFollowed = resolve));
  override follow(requestId: bigint, listener: Parameters<ContentStore["follow"]>[1]) {
    const unsubscribe = super.follow(requestId, listener);
    this.resolveFollowed();
    return unsubscribe;
  }
}

describe("infer: prompt to verified text through endpoints found on-chain", () => {
  let s: Shardholder;
  const cleanups: (() => Promise<void>)[] = [];
  const dapp = () => actionsOf(s, 5);

  beforeAll(async () => {
    s = await deployShardholder();
    for (const i of [1, 2, 3, 4])
      await actionsOf(s, i).stake({ payout: accountAt(s, i), signingKey: accountAt(s, i), valueWei: parseEther("1") });
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A fresh two-stage model (so each test sees only its own pipelines). */
  async function newModel(): Promise<bigint> {
    const { modelId } = await actionsOf(s, 0).registerModel({ spec: testSpec() });
    return modelId;
  }

  /** Registers the pipeline of wallets `ops` (every operator consents). */
  async function registerPipeline(modelId: bigint, ops: [number, number]): Promise<readonly [Address, Address]> {
    const stageOperators = [accountAt(s, ops[0]), accountAt(s, ops[1])] as const;
    const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
    const { signature } = await actionsOf(s, ops[1]).consentToPipeline({ modelId, stageOperators, deadline: consentDeadline });
    await actionsOf(s, ops[0]).registerPipeline({ modelId, stageOperators, consentDeadline, consents: { [stageOperators[1]]: signature } });
    return stageOperators;
  }

  /** Runs wallet `op`'s content store and operator loop (generating `generate(prompt)`) and announces the store. */
  async function serve(
    modelId: bigint,
    op: number,
    stageOperators: readonly Address[],
    options: { store?: ContentStore; generate?: (p: string, onText?: (text: string) => void) => Promise<string> } = {},
  ) {
    const store = options.store ?? new ContentStore();
    const server = await serveContentStore(store);
    const stop = new AbortController();
    const loop = runServingOperator({
      client: s.publicClient,
      wallet: s.wallets[op] as WalletClient,
      deployments: s.deployments,
      modelId,
      store,
      stageOperators,
      generate: async (r, onText) => ({
        text: await (options.generate ?? (async (p: string) => reverse(p)))(r.prompt, onText),
        ...(await signedServing(s, { requestId: r.requestId, stageOperators })),
      }),
      pollMs: 50,
      signal: stop.signal,
    });
    await actionsOf(s, op).announceEndpoint({ modelId, url: server.url });
    const halt = async () => {
      stop.abort();
      await loop;
    };
    cleanups.push(async () => {
      await halt();
      await server.close();
    });
    return { url: server.url, store, halt };
  }

  const escrowState = async () => ({
    requests: await s.publicClient.readContract({
      abi: inferenceEscrowAbi,
      address: s.deployments.contracts.inferenceEscrow,
      functionName: "requestCount",
    }),
    balanceWei: await s.publicClient.getBalance({ address: s.deployments.contracts.inferenceEscrow }),
  });

  it("returns the generated text, checked against the fulfilled hash, with the fee split and both transactions", async () => {
    const modelId = await newModel();
    const operators = await registerPipeline(modelId, [1, 2]);
    const { url } = await serve(modelId, 1, operators);
    const progress: InferProgress["step"][] = [];
    const feeWei = parseEther("0.002");
    const result = await dapp().infer({
      modelId,
      prompt: "The jury said",
      maxFeeWei: feeWei,
      feeWei,
      pollingInterval: 20,
      onProgress: (p) => progress.push(p.step),
    });
    expect(result.text).toBe(reverse("The jury said"));
    expect(result.outputHash).toBe(textHash(result.text));
    expect(result.url).toBe(url);
    expect(result.fulfiller).toBe(operators[0]);
    expect(result.stageOperators).toEqual(operators);
    expect(result.feeWei).toBe(feeWei);
    expect(result.protocolFeeWei + 2n * result.operatorFeeWeiPerStage + result.holdersWei).toBe(feeWei);
    expect(progress).toEqual(["uploaded", "requested", "fulfilled"]);
    const info = await dapp().getInferenceRequest({ requestId: result.requestId });
    expect(info.state).toBe("fulfilled");
    expect(info.request.inputHash).toBe(textHash("The jury said"));
    expect(info.fulfillment?.transactionHash).toBe(result.fulfillTransactionHash);
    const receipt = await s.publicClient.getTransactionReceipt({ hash: result.requestTransactionHash });
    expect(receipt.status).toBe("success");
  });

  it("finds endpoints only through serving pipelines' first operators, newest first", async () => {
    const modelId = await newModel();
    await expect(dapp().infer({ modelId, prompt: "hi", maxFeeWei: parseEther("1") })).rejects.toBeInstanceOf(NoServingPipelineError);
    const older = await registerPipeline(modelId, [1, 2]);
    const newer = await registerPipeline(modelId, [3, 4]);
    // an account outside every pipeline announcing changes nothing
    await actionsOf(s, 6).announceEndpoint({ modelId, url: "http://127.0.0.1:9/spam" });
    // the second operator of a pipeline is not its entry
    await actionsOf(s, 2).announceEndpoint({ modelId, url: "http://127.0.0.1:9/not-entry" });
    const none = dapp().infer({ modelId, prompt: "hi", maxFeeWei: parseEther("1") });
    await expect(none).rejects.toBeInstanceOf(NoServingEndpointError);
    await actionsOf(s, 1).announceEndpoint({ modelId, url: "http://older.example" });
    await actionsOf(s, 3).announceEndpoint({ modelId, url: "http://newer.example" });
    const { endpoints, servingPipelines } = await dapp().getServingEndpoints({ modelId });
    expect(servingPipelines).toBe(2);
    expect(endpoints.map((e) => [e.url, e.entryOperator, e.stageOperators])).toEqual([
      ["http://newer.example", newer[0], newer],
      ["http://older.example", older[0], older],
    ]);
    await actionsOf(s, 3).withdrawEndpoint({ modelId });
    expect((await dapp().getServingEndpoints({ modelId })).endpoints.map((e) => e.url)).toEqual(["http://older.example"]);
  });

  it("tries the next announced endpoint when one is down, and pays only the one that took the prompt", async () => {
    const modelId = await newModel();
    const live = await registerPipeline(modelId, [1, 2]);
    const { url } = await serve(modelId, 1, live);
    await registerPipeline(modelId, [3, 4]);
    await actionsOf(s, 3).announceEndpoint({ modelId, url: "http://127.0.0.1:9" }); // nothing listens on the discard port
    const result = await dapp().infer({ modelId, prompt: "It was the", maxFeeWei: parseEther("1"), pollingInterval: 20 });
    expect(result.url).toBe(url);
    expect(result.stageOperators).toEqual(live);
    expect(result.text).toBe(reverse("It was the"));
  });

  it("pays nothing when every endpoint is down", async () => {
    const modelId = await newModel();
    await registerPipeline(modelId, [1, 2]);
    await actionsOf(s, 1).announceEndpoint({ modelId, url: "http://127.0.0.1:9" });
    const before = await escrowState();
    const err = await dapp()
      .infer({ modelId, prompt: "anyone?", maxFeeWei: parseEther("1") })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointsUnreachableError);
    expect((err as EndpointsUnreachableError).failures.map((f) => f.url)).toEqual(["http://127.0.0.1:9"]);
    expect(await escrowState()).toEqual(before);
  });

  it("refunds the fee when nobody delivers before the deadline", async () => {
    const modelId = await newModel();
    const operators = await registerPipeline(modelId, [1, 2]);
    const { halt } = await serve(modelId, 1, operators);
    await halt(); // the store still takes prompts, but nobody fulfils
    const feeWei = parseEther("0.003");
    const err = await dapp()
      .infer({ modelId, prompt: "silence", maxFeeWei: feeWei, feeWei, timeoutMs: 2_000, pollingInterval: 50 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceNotDeliveredError);
    const { requestId, refundedWei, refundTransactionHash } = err as InferenceNotDeliveredError;
    expect(refundedWei).toBe(feeWei);
    const info = await dapp().getInferenceRequest({ requestId });
    expect(info.state).toBe("refunded");
    expect(info.refundTransactionHash).toBe(refundTransactionHash);
  });

  it("never returns a text that does not hash to the fulfilled outputHash", async () => {
    const modelId = await newModel();
    const operators = await registerPipeline(modelId, [1, 2]);
    await serve(modelId, 1, operators, { store: new TamperingStore() });
    const err = await dapp()
      .infer({ modelId, prompt: "tamper", maxFeeWei: parseEther("1"), pollingInterval: 20 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputMismatchError);
    expect((err as OutputMismatchError).expectedHash).toBe(textHash(reverse("tamper")));
    expect((err as OutputMismatchError).receivedHash).toBe(textHash(`${reverse("tamper")}!`));
  });

  it("streams the text as it is generated, then resolves the verified result", async () => {
    const modelId = await newModel();
    const operators = await registerPipeline(modelId, [1, 2]);
    const store = new FollowedStore();
    const generate = async (prompt: string, onText?: (text: string) => void) => {
      await store.followed;
      for (const ch of reverse(prompt)) {
        onText?.(ch);
        await new Promise((r) => setImmediate(r));
      }
      return reverse(prompt);
    };
    await serve(modelId, 1, operators, { store, generate });
    const stream = await dapp().inferStream({ modelId, prompt: "stream me", maxFeeWei: parseEther("1"), pollingInterval: 20 });
    const pieces: string[] = [];
    for await (const piece of stream) pieces.push(piece);
    const result = await stream.result;
    // one piece per generated character, in order, while generating
    expect(pieces).toEqual([...reverse("stream me")]);
    expect(result.text).toBe(pieces.join(""));
    expect(result.requestId).toBe(stream.requestId);
  });

  it("ends a stream whose text differs from the fulfilled one with OutputMismatchError", async () => {
    const modelId = await newModel();
    const operators = await registerPipeline(modelId, [1, 2]);
    const store = new FollowedStore();
    const generate = async (prompt: string, onText?: (text: string) => void) => {
      onText?.("a different answer");
      await store.followed;
      return reverse(prompt);
    };
    await serve(modelId, 1, operators, { store, generate });
    const stream = await dapp().inferStream({ modelId, prompt: "lie", maxFeeWei: parseEther("1"), pollingInterval: 20 });
    const pieces: string[] = [];
    const err = await (async () => {
      for await (const piece of stream) pieces.push(piece);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputMismatchError);
    expect(pieces).toEqual(["a different answer"]);
    // the verified result itself is the fulfilled text
    expect((await stream.result).text).toBe(reverse("lie"));
  });

  it("refuses bad input with typed errors before any fee moves", async () => {
    const modelId = await newModel();
    const operators = await registerPipeline(modelId, [1, 2]);
    await serve(modelId, 1, operators);
    const before = await escrowState();
    const ok = { modelId, prompt: "fine", maxFeeWei: parseEther("1") };
    await expect(dapp().infer({ ...ok, prompt: "" })).rejects.toBeInstanceOf(PromptEmptyError);
    // 2,049 two-byte characters: under the limit in characters, over it in bytes
    const long = dapp().infer({ ...ok, prompt: "é".repeat(MAX_PROMPT_BYTES / 2 + 1) });
    await expect(long).rejects.toBeInstanceOf(PromptTooLongError);
    await expect(long).rejects.toMatchObject({
      shortMessage: `The prompt is ${MAX_PROMPT_BYTES + 2} bytes of UTF-8; serving endpoints accept at most ${MAX_PROMPT_BYTES}.`,
    });
    expect(() => checkPrompt("x".repeat(MAX_PROMPT_BYTES))).not.toThrow();
    await expect(dapp().infer({ ...ok, maxFeeWei: parseEther("0.0009") })).rejects.toBeInstanceOf(FeeAboveLimitError);
    await expect(dapp().infer({ ...ok, modelId: 999n })).rejects.toBeInstanceOf(ModelRegistryUnknownModelError);
    await expect(dapp().infer({ ...ok, timeoutMs: 500 })).rejects.toBeInstanceOf(InvalidParameterError);
    // a deadline the chain's clock has already reached (the escrow would refuse it)
    const chainNow = BigInt(await s.networkHelpers.time.latest());
    await expect(dapp().infer({ ...ok, deadline: chainNow })).rejects.toBeInstanceOf(InvalidDeadlineError);
    // a payer who cannot cover fee + gas is told so in words
    await s.networkHelpers.setBalance(accountAt(s, 8), parseEther("0.0005"));
    const broke = actionsOf(s, 8).infer({ ...ok, feeWei: parseEther("0.001") });
    await expect(broke).rejects.toBeInstanceOf(InsufficientFundsError);
    await expect(broke).rejects.toMatchObject({
      shortMessage: `Insufficient funds for 0.001 ETH + gas: account ${accountAt(s, 8)} holds 0.0005 ETH.`,
    });
    expect(await escrowState()).toEqual(before);
    // the same call with valid values goes through: the refusals above were about the input alone
    expect((await dapp().infer({ ...ok, pollingInterval: 20 })).text).toBe(reverse("fine"));
    expect((await escrowState()).requests).toBe(before.requests + 1n);
  });

  it("any write action says in words when the account cannot pay its value, not the node's wording", async () => {
    const modelId = await newModel();
    await registerPipeline(modelId, [1, 2]);
    await s.networkHelpers.setBalance(accountAt(s, 9), parseEther("0.0005"));
    const poor = actionsOf(s, 9);
    const request = poor.requestInference({ modelId, input: "x", feeWei: parseEther("0.01") });
    await expect(request).rejects.toBeInstanceOf(InsufficientFundsError);
    await expect(request).rejects.toMatchObject({
      shortMessage: `Insufficient funds for 0.01 ETH + gas: account ${accountAt(s, 9)} holds 0.0005 ETH.`,
    });
    await expect(poor.stake({ payout: accountAt(s, 9), signingKey: accountAt(s, 9), valueWei: parseEther("1") })).rejects.toBeInstanceOf(
      InsufficientFundsError,
    );
    // an account that can pay gets the contract's own answer, not a funding error
    const rich = await actionsOf(s, 5).requestInference({ modelId, input: "x", feeWei: parseEther("0.01") });
    expect(rich.receipt.status).toBe("success");
  });

  it("says which RPC endpoint it cannot reach, and needs an account to pay", async () => {
    const down = createWalletClient({ account: accountAt(s, 5), transport: http("http://127.0.0.1:1", { retryCount: 0 }) });
    const { infer } = await import("./infer.ts");
    const err = await infer(down, { deployments: s.deployments, modelId: 1n, prompt: "hi", maxFeeWei: 1n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcUnreachableError);
    expect((err as RpcUnreachableError).shortMessage).toBe("Cannot reach the JSON-RPC endpoint http://127.0.0.1:1/.");
    // every read action too, not only infer
    const { getModel } = await import("../models/getModel.ts");
    const read = await getModel(down, { deployments: s.deployments, modelId: 1n }).catch((e: unknown) => e);
    expect(read).toBeInstanceOf(RpcUnreachableError);
    const noAccount = createPublicClient({ chain: s.publicClient.chain, transport: http("http://127.0.0.1:1") });
    await expect(infer(noAccount, { deployments: s.deployments, modelId: 1n, prompt: "hi", maxFeeWei: 1n })).rejects.toBeInstanceOf(
      AccountRequiredError,
    );
  });
});
