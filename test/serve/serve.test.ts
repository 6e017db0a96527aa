import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPublicClient, createWalletClient, decodeFunctionData, http, keccak256, parseEther, slice, toBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getServingEndpoints, inferenceEscrowAbi, infer, inferStream, registerModel, stake } from "../../sdk/index.ts";
import { devnetRoles } from "../../scripts/lib/devnet/accounts.ts";
import { type DevChain, setChainTime, startLocalChain } from "../../scripts/lib/devnet/chain.ts";
import { recoverServingCommitmentSigner, type ServingCommitment, servingRoot } from "../../sdk/protocol/serving.ts";
import { demoModelSpec, demoRegistryTerms, writeSpecFile } from "../../scripts/lib/devnet/model.ts";
import { registerServingPipeline } from "../../scripts/lib/devnet/pipeline.ts";
import { selectBackend } from "../../worker/backend/select.ts";
import { generateText } from "../../worker/model/generate.ts";
import { createStage } from "../../worker/model/stage.ts";
import { specHash } from "../../worker/model/spec.ts";
import { writeStageCheckpoint } from "../../worker/serve/checkpointFile.ts";
import { type JsonLineProcess, startServingPipeline } from "../../worker/serve/index.ts";

const STAGES = 3;
const NEW_TOKENS = 12;
const PROMPTS = ["The jury said ", "It was the"];

describe("serving over a 3-process libp2p stage pipeline", () => {
  let chain: DevChain;
  let dir: string;
  let stages: JsonLineProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "shardholder-serve-"));
    await selectBackend({});
    chain = await startLocalChain({ deploymentsDir: dir });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(stages.map((p) => p.stop()));
    await chain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers infer with the text the pipeline generated from exported stage checkpoints, found through the endpoint stage 0 announced on-chain, fulfilled with every stage's signed commitment, crediting every stage operator once released", async () => {
    const spec = demoModelSpec(STAGES);
    const specPath = path.join(dir, "spec.json");
    await writeSpecFile(spec, specPath);
    const roles = devnetRoles(STAGES);
    const transport = http(chain.rpcUrl);
    const client = createPublicClient({ transport });
    const wallet = (key: `0x${string}`) => createWalletClient({ account: privateKeyToAccount(key), transport });
    const { deployments } = chain;
    const { modelId } = await registerModel(wallet(roles.deployer), { deployments, spec: demoRegistryTerms(spec) });
    const operators = roles.miners.map((k) => privateKeyToAccount(k).address);
    for (const [s, key] of roles.miners.entries())
      await stake(wallet(key), {
        deployments,
        payout: operators[s] as `0x${string}`,
        signingKey: privateKeyToAccount(roles.signers[s] as `0x${string}`).address,
        valueWei: parseEther("1"),
      });
    // every stage operator consents; stage 0 registers the pipeline the requests will name
    const { pipelineKey } = await registerServingPipeline({ client, transport, deployments, modelId, operatorKeys: roles.miners });

    // Each operator serves the checkpoint it exported (`shardholder export`): weights other than
    // the initial ones, so the text proves the files were loaded.
    const local = spec.stages.map((_, s) => createStage(spec, s));
    const initial = spec.stages.map((_, s) => createStage(spec, s));
    const files: string[] = [];
    for (const [s, stage] of local.entries()) {
      const weights = stage.exportWeights().map((w, i) => w + 0.05 * Math.sin(i * 0.7 + s));
      stage.importWeights(weights);
      files.push(path.join(dir, `stage${s}.ckpt`));
      await writeStageCheckpoint(files[s] as string, {
        modelId,
        stage: s,
        worker: operators[s] as `0x${string}`,
        round: 0n,
        specHash: specHash(spec),
        weights,
      });
    }
    // Every stage signs its frames and its serving commitment with its own operator's key.
    const pipeline = await startServingPipeline(STAGES, (s) => ({
      specPath,
      weightsFile: files[s],
      modelId: modelId.toString(),
      wire: "float32",
      key: roles.miners[s],
      stageOperators: operators,
      deploymentsPath: chain.deploymentsFile,
      ...(s === 0 ? { operator: { rpcUrls: [chain.rpcUrl], maxNewTokens: NEW_TOKENS } } : {}),
    }));
    stages = pipeline.stages;
    const { endpoints } = await getServingEndpoints(client, { deployments, modelId });
    expect(endpoints.map((e) => [e.url, e.pipelineKey])).toEqual([[pipeline.storeUrl, pipelineKey]]);

    // Reference: the same weights, all stages in this process.
    const dapp = wallet(roles.clients[0] as `0x${string}`);
    for (const prompt of PROMPTS) {
      // The dapp passes no URL: infer finds stage 0's announced endpoint on-chain.
      const parameters = {
        deployments,
        modelId,
        prompt,
        feeWei: parseEther("0.01"),
        maxFeeWei: parseEther("0.01"),
        timeoutMs: 60_000,
        pollingInterval: 100,
      };
      let done: Awaited<ReturnType<typeof infer>>;
      if (prompt === PROMPTS[0]) done = await infer(dapp, parameters);
      else {
        // Streamed: the pieces the pipeline generated add up to the verified text.
        const stream = await inferStream(dapp, parameters);
        let streamed = "";
        for await (const piece of stream) streamed += piece;
        done = await stream.result;
        expect(streamed).toBe(done.text);
      }
      expect(done.pipelineKey).toBe(pipelineKey);
      expect(done.url).toBe(pipeline.storeUrl);
      expect(keccak256(toBytes(done.text))).toBe(done.outputHash);
      expect(done.text).toHaveLength(NEW_TOKENS);
      expect(done.text).toBe(generateText(spec, local, prompt, NEW_TOKENS));
      expect(done.text).not.toBe(generateText(spec, initial, prompt, NEW_TOKENS));
      expect(done.stageOperators.map((a) => a.toLowerCase())).toEqual(operators.map((a) => a.toLowerCase()));
      expect(done.protocolFeeWei + done.operatorFeeWeiPerStage * BigInt(STAGES) + done.holdersWei).toBe(parseEther("0.01"));
    }
    for (const s of [...local, ...initial]) s.dispose();
    // Each fulfilment carried every stage's commitment, signed by that stage's operator, over as
    // many positions as were generated; the escrow stored their serving root.
    const fulfilled = stages[0]?.all("served") ?? [];
    expect(fulfilled.map((f) => f.status)).toEqual(PROMPTS.map(() => "fulfilled"));
    const ctx = { escrow: deployments.contracts.inferenceEscrow, chainId: deployments.chainId };
    for (const f of fulfilled) {
      const tx = await client.getTransaction({ hash: f.txHash as `0x${string}` });
      const { functionName, args } = decodeFunctionData({ abi: inferenceEscrowAbi, data: tx.input });
      expect(functionName).toBe("fulfill");
      const [requestId, , , commitments, packed] = args as unknown as [bigint, unknown, unknown, ServingCommitment[], `0x${string}`];
      expect(requestId.toString()).toBe(String(f.requestId));
      expect(servingRoot(requestId, commitments)).toBe(f.servingRoot);
      for (const [s, c] of commitments.entries()) {
        expect(c.positions).toBe(NEW_TOKENS);
        const signature = slice(packed, 64 * s, 64 * (s + 1));
        expect(await recoverServingCommitmentSigner(ctx, requestId, s, c, signature)).toBe(operators[s]);
      }
    }
    // The operators' shares are held until the challenge window is over; then stage 0 releases them.
    for (const op of operators) {
      const [, owed] = await client.readContract({
        abi: inferenceEscrowAbi,
        address: deployments.contracts.inferenceEscrow,
        functionName: "memberOf",
        args: [pipelineKey, op],
      });
      expect(owed).toBe(0n);
    }
    const until = fulfilled.reduce((m, f) => (BigInt(String(f.challengeableUntil)) > m ? BigInt(String(f.challengeableUntil)) : m), 0n);
    await setChainTime(chain.rpcUrl, until + 1n);
    await (stages[0] as JsonLineProcess).waitUntil("released", () => (stages[0]?.all("released").length ?? 0) >= PROMPTS.length, 30_000);
    for (const op of operators) {
      const [, owed] = await client.readContract({
        abi: inferenceEscrowAbi,
        address: deployments.contracts.inferenceEscrow,
        functionName: "memberOf",
        args: [pipelineKey, op],
      });
      expect(owed).toBe(((parseEther("0.01") * 3000n) / 10000n / BigInt(STAGES)) * BigInt(PROMPTS.length));
    }
    // Every hop really ran in its own process: each downstream stage saw every token position.
    await Promise.all(stages.map((p) => p.stop(10_000)));
    // A stopped operator takes its entry back, so dapps do not try a dead endpoint.
    expect(stages[0]?.all("withdrawn")).toHaveLength(1);
    expect((await getServingEndpoints(client, { deployments, modelId })).endpoints).toEqual([]);
    const done = stages.map((p) => p.all("done")[0]);
    expect(done.map((d) => d?.served)).toEqual([PROMPTS.length, PROMPTS.length * NEW_TOKENS, PROMPTS.length * NEW_TOKENS]);
    expect(new Set(stages.map((p) => p.pid)).size).toBe(STAGES);
  }, 180_000);
});
