import type { Libp2p } from "@libp2p/interface";
import { type Address, bytesToHex, type Hex, hexToBytes, keccak256, stringToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import {
  NO_SAMPLING,
  recoverServingCommitmentSigner,
  requestSamplingSeed,
  samplingHash,
  servingOutputsTree,
} from "../../sdk/protocol/serving.ts";
import { selectBackend } from "../backend/select.ts";
import { decodingModel, generateTokens } from "../model/generate.ts";
import { defaultModelSpec } from "../model/spec.ts";
import { createStage } from "../model/stage.ts";
import { servingFrameLimits } from "../p2p/frames.ts";
import { localPipeAuth } from "../p2p/hello.ts";
import { createPipeNode } from "../p2p/node.ts";
import { openPipe, type StagePipe } from "../p2p/pipe.ts";
import type { PipelineStage } from "../model/stage.ts";
import { generateThroughPipeline, serveDownstreamStage } from "./pipelineServe.ts";
import { BEGIN_POSITION, type ServingFrameRefusedError, type ServingIdentity, signedFrame } from "./servingFrames.ts";
import { ServingLog } from "./servingRecord.ts";

const spec = defaultModelSpec({
  stageCount: 3,
  layers: 3,
  dModel: 16,
  heads: 2,
  contextLength: 12,
  microbatchSize: 2,
  microbatchesPerStep: 1,
  learningRate: 1e-2,
});
const model = decodingModel(spec);
const context = { escrow: "0x00000000000000000000000000000000000000e5" as Address, chainId: 31337 };
const keys = spec.stages.map(() => generatePrivateKey());
const operators = keys.map((k) => privateKeyToAccount(k).address);
const SAMPLING = { temperature: 0.8, topK: 6 };
const NEW = 7;

const nodes: Libp2p[] = [];
const stages: PipelineStage[] = [];
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
  for (const s of stages) s.dispose();
});
beforeAll(async () => {
  await selectBackend({ backend: "cpu" });
});

/** Stage `s` with weights other than the initial ones (so the served text depends on them). */
function trainedStage(s: number): PipelineStage {
  const stage = createStage(spec, s);
  stage.importWeights(stage.exportWeights().map((w, i) => w + 0.05 * Math.sin(i * 0.3 + s)));
  stages.push(stage);
  return stage;
}

/** `count` stage pipes joined over real libp2p on loopback, stage 0 first. */
async function pipes(count: number): Promise<StagePipe[]> {
  const ns = await Promise.all(Array.from({ length: count }, () => createPipeNode()));
  nodes.push(...ns);
  return Promise.all(
    ns.map(async (node, s) =>
      openPipe({
        node,
        stageIndex: s,
        stageCount: count,
        modelKey: keccak256(stringToBytes("serving test model")),
        auth: await localPipeAuth(1n),
        limits: servingFrameLimits(spec.contextLength, spec.dModel),
        nextAddress: ns[s + 1]?.getMultiaddrs()[0]?.toString(),
        dial: { attempts: 10, baseDelayMs: 50, maxDelayMs: 200 },
      }),
    ),
  );
}

const identity = (s: number, stage: PipelineStage, stageOperators: readonly Address[] = operators): ServingIdentity => ({
  account: privateKeyToAccount(keys[s] as Hex),
  stageOperators,
  context,
  weightsRoot: weightsRoot(stage.exportWeights()),
});

describe("serving through a 3-stage libp2p pipeline, every frame signed", () => {
  it("serves the reference tokens drawn with the request's seed, and every stage commits, signed by its operator, to the payloads it sent", async () => {
    const shards = spec.stages.map((_, s) => trainedStage(s));
    const [p0, p1, p2] = await pipes(3);
    const logs = shards.map(() => new ServingLog());
    const refused: ServingFrameRefusedError[] = [];
    const onRefused = (e: ServingFrameRefusedError) => refused.push(e);
    const downstream = [1, 2].map((s) =>
      serveDownstreamStage({
        stage: shards[s] as PipelineStage,
        pipe: (s === 1 ? p1 : p2) as StagePipe,
        wire: "float32",
        identity: identity(s, shards[s] as PipelineStage),
        sampling: SAMPLING,
        log: logs[s],
        onRefused,
      }),
    );
    const head = {
      stage: shards[0] as PipelineStage,
      pipe: p0 as StagePipe,
      wire: "float32" as const,
      identity: identity(0, shards[0] as PipelineStage),
      log: logs[0],
      onRefused,
    };
    const requests = [
      { requestId: 41n, text: "The jury said " },
      { requestId: 42n, text: "The jury said " },
    ].map((r) => ({ ...r, inputHash: keccak256(stringToBytes(r.text)), prompt: model.tokenizer.encode(r.text) }));
    const answers = [];
    for (const r of requests) answers.push(await generateThroughPipeline(head, model, r, NEW));
    await p0?.next?.close();
    const served = await Promise.all(downstream);
    expect(served).toEqual([
      { served: 2 * NEW, relayed: 2 * NEW, refused: 0 },
      { served: 2 * NEW, relayed: 0, refused: 0 },
    ]);
    expect(refused).toEqual([]);

    for (const [i, r] of requests.entries()) {
      const { tokens, commitments, signatures } = answers[i] as Awaited<ReturnType<typeof generateThroughPipeline>>;
      // (c) The last stage drew with the request's seed: the single-process reference with that seed.
      const seed = requestSamplingSeed(r.requestId, r.inputHash);
      expect(tokens).toEqual(
        generateTokens(model, shards, r.prompt, NEW, { sampling: { ...SAMPLING, seed }, request: r.requestId, wire: "float32" }),
      );
      // (a) Every commitment recovers to its stage's operator; its outputs root is over what the stage sent.
      expect(commitments).toHaveLength(3);
      for (const [s, c] of commitments.entries()) {
        expect(await recoverServingCommitmentSigner(context, r.requestId, s, c, signatures[s] as Hex)).toBe(operators[s]);
        const record = logs[s]?.record(r.requestId);
        expect(record?.commitment).toEqual(c);
        const outputs = (record?.positions ?? []).map((p) => p.outputHash);
        expect(outputs).toHaveLength(NEW);
        // The kept payloads hash to the committed leaves.
        const payloads = outputs.map((h) => logs[s]?.payload(h) as Uint8Array);
        expect(servingOutputsTree(payloads.map((b) => keccak256(b))).root).toBe(c.outputsRoot);
        expect(c).toMatchObject({ positions: NEW, weightsRoot: weightsRoot((shards[s] as PipelineStage).exportWeights()) });
        expect(c.sampling).toBe(s === 2 ? samplingHash({ seed, ...SAMPLING }) : NO_SAMPLING);
        // Stage s's inputs are stage s-1's committed outputs.
        if (s > 0)
          expect(record?.positions.map((p) => p.inputHash)).toEqual(logs[s - 1]?.record(r.requestId)?.positions.map((p) => p.outputHash));
      }
      // The last stage's payloads are the 4-byte tokens it drew.
      const lastPayloads = (logs[2]?.record(r.requestId)?.positions ?? []).map((p) => logs[2]?.payload(p.outputHash) as Uint8Array);
      expect(lastPayloads.map((b) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true))).toEqual(tokens);
    }
    // The same prompt, another request: another draw.
    expect(answers[0]?.tokens).not.toEqual(answers[1]?.tokens);
  }, 60_000);

  it("refuses a begin frame not signed by stage 0's operator, and an activation with a bad signature, dropping the link", async () => {
    const shard = trainedStage(1);
    // (b1) Stage 0 signs with a key the pipeline does not name for stage 0 (stage 1's view of the pipeline).
    {
      const [p0, p1] = await pipes(2);
      const impostor = generatePrivateKey();
      const pipeline = [privateKeyToAccount(impostor).address, operators[1] as Address];
      const refused: ServingFrameRefusedError[] = [];
      const serving = serveDownstreamStage({
        stage: shard,
        pipe: p1 as StagePipe,
        wire: "float32",
        identity: identity(1, shard, [operators[0] as Address, operators[1] as Address]),
        onRefused: (e) => refused.push(e),
      });
      const head = {
        stage: trainedStage(0),
        pipe: p0 as StagePipe,
        wire: "float32" as const,
        identity: { ...identity(1, shard, pipeline), account: privateKeyToAccount(impostor) },
      };
      const r = { requestId: 5n, inputHash: keccak256(stringToBytes("x")), prompt: model.tokenizer.encode("x") };
      await expect(generateThroughPipeline(head, model, r, 2)).rejects.toThrow();
      expect(await serving).toEqual({ served: 0, relayed: 0, refused: 1 });
      expect(refused[0]).toMatchObject({ kind: "inferBegin", requestId: 5n, position: BEGIN_POSITION });
      expect(refused[0]?.message).toContain(`not stage 0's operator ${operators[0]}`);
    }
    // (b2) A valid begin, then an activation whose signature is not over its payload.
    {
      const [p0, p1] = await pipes(2);
      const refused: ServingFrameRefusedError[] = [];
      const serving = serveDownstreamStage({
        stage: shard,
        pipe: p1 as StagePipe,
        wire: "float32",
        identity: identity(1, shard, operators.slice(0, 2)),
        onRefused: (e) => refused.push(e),
      });
      const stage0 = { ...identity(0, shard, operators.slice(0, 2)) };
      const link = p0?.next;
      if (!link) throw new Error("no link");
      const inputHash = keccak256(stringToBytes("y"));
      await link.send(await signedFrame(stage0, 0, "inferBegin", 6n, BEGIN_POSITION, hexToBytes(inputHash), 1));
      const tensor = new Float32Array(spec.dModel).fill(0.25);
      const { encodeWireTensor } = await import("../p2p/wire.ts");
      const payload = encodeWireTensor([1, 1, spec.dModel], tensor, "float32").bytes;
      const signed = await signedFrame(stage0, 0, "inferActivation", 6n, 0, payload);
      const tampered = payload.slice();
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
      await link.send({ ...signed, payload: tampered });
      expect(await serving).toEqual({ served: 0, relayed: 0, refused: 1 });
      expect(refused[0]).toMatchObject({ kind: "inferActivation", requestId: 6n, position: 0 });
      expect(bytesToHex(signed.signature as Uint8Array)).toHaveLength(130);
    }
    // (b3) The last stage signs its token with a key the pipeline does not name: the middle stage
    // refuses it (never relays it) and stage 0's request fails.
    {
      const [p0, p1, p2] = await pipes(3);
      const impostor = generatePrivateKey();
      const refused: ServingFrameRefusedError[] = [];
      const last = trainedStage(2);
      const lastServing = serveDownstreamStage({
        stage: last,
        pipe: p2 as StagePipe,
        wire: "float32",
        identity: {
          ...identity(2, last, [operators[0], operators[1], privateKeyToAccount(impostor).address] as Address[]),
          account: privateKeyToAccount(impostor),
        },
      });
      const middle = serveDownstreamStage({
        stage: shard,
        pipe: p1 as StagePipe,
        wire: "float32",
        identity: identity(1, shard),
        onRefused: (e) => refused.push(e),
      });
      const first = trainedStage(0);
      const head = { stage: first, pipe: p0 as StagePipe, wire: "float32" as const, identity: identity(0, first) };
      const r = { requestId: 8n, inputHash: keccak256(stringToBytes("z")), prompt: model.tokenizer.encode("z") };
      await expect(generateThroughPipeline(head, model, r, 2)).rejects.toThrow();
      expect(await middle).toEqual({ served: 1, relayed: 0, refused: 1 });
      expect(refused[0]).toMatchObject({ kind: "inferToken", requestId: 8n, position: 0 });
      await lastServing.catch(() => undefined);
    }
  }, 60_000);
});
