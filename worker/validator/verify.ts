import { type Address, type Hex, zeroHash } from "viem";
import { fastGradRoot } from "../backend/roots.ts";
import type { MicrobatchItem } from "../../sdk/protocol/index.ts";
import { decodeTensor, TensorFormatError } from "../../sdk/protocol/tensorBytes.ts";
import { FrameFormatError } from "../p2p/errors.ts";
import { type ContentKind, float32FromBytes } from "../p2p/content.ts";
import { ContentUnavailableError } from "../p2p/contentProtocol.ts";
import { decodeActivationPayload, decodeWireTensor } from "../p2p/wire.ts";
import type { MicrobatchSource } from "../pipeline/types.ts";
import type { Reexecutor } from "./reexecute.ts";
import { type ComparedKind, relativeL2, type Tolerance } from "./tolerance.ts";

/** Fetches checked content from the accused miner (throws `ContentUnavailableError`). */
export type ContentFetcher = (kind: ContentKind, key: Hex) => Promise<Uint8Array>;

/** The outcome of re-executing one item. `distance` holds the relative L2 per compared kind. */
export type ItemVerdict =
  | { ok: true; distance: Partial<Record<ComparedKind, number>>; computeMs: number }
  | { ok: false; reason: string; distance: Partial<Record<ComparedKind, number>>; computeMs: number };

export type VerifyItemParameters = {
  reexecutor: Reexecutor;
  fetch: ContentFetcher;
  data: MicrobatchSource;
  tolerance: Tolerance;
  round: bigint;
  stage: number;
  stageCount: number;
  leaf: MicrobatchItem;
  /**
   * The commitment's worker. On stage 0 it is the pipeline's head: the microbatch is drawn for it,
   * so a leaf copied from another pipeline's commitment does not re-execute.
   */
  worker: Address;
  /** The commitment's weights at round start (from the manifest, bound by the signature). */
  weightsRootBefore: Hex;
  /**
   * Microbatches per optimizer step (the spec's M): the items of step 0 (indices below M) must
   * name `weightsRootBefore` (microbatches below M); later steps name the weights their step started from.
   */
  microbatchesPerStep: number;
};

/**
 * Re-executes one committed item from the inputs the miner committed to (the weights its leaf
 * names, its received tensors) and compares every committed output within `tolerance`. A miner
 * that does not serve a needed input fails.
 */
export async function verifyItem(p: VerifyItemParameters): Promise<ItemVerdict> {
  const { leaf, stage, stageCount } = p;
  const isFirst = stage === 0;
  const isLast = stage === stageCount - 1;
  const distance: Partial<Record<ComparedKind, number>> = {};
  const fail = (reason: string, computeMs = 0): ItemVerdict => ({ ok: false, reason, distance, computeMs });
  if (isFirst !== (leaf.inputGradHash === zeroHash)) return fail("inputGradHash must be zero exactly on stage 0");
  if (isLast !== (leaf.upstreamGradHash === zeroHash)) return fail("upstreamGradHash must be zero exactly on the last stage");
  if (isFirst !== (BigInt(leaf.upstream) === 0n)) return fail("upstream must be the zero address exactly on stage 0");
  if (isLast !== (BigInt(leaf.downstream) === 0n)) return fail("downstream must be the zero address exactly on the last stage");
  if (leaf.microbatch < p.microbatchesPerStep && leaf.weightsRoot !== p.weightsRootBefore)
    return fail(
      `microbatch ${leaf.microbatch} of the round's first step names weights ${leaf.weightsRoot}, not the commitment's weightsRootBefore`,
    );
  let weights: Float32Array;
  let inputBytes: Uint8Array | undefined;
  let upstreamGradBytes: Uint8Array | undefined;
  try {
    weights = float32FromBytes(await p.fetch("weights", leaf.weightsRoot));
    if (!isFirst) inputBytes = await p.fetch("tensor", leaf.inputActHash);
    if (!isLast) upstreamGradBytes = await p.fetch("tensor", leaf.upstreamGradHash);
  } catch (err) {
    if (err instanceof ContentUnavailableError) return fail(`committed input not served (${err.reason})`);
    throw err;
  }
  let mine;
  try {
    mine = p.reexecutor.run({
      stageIndex: stage,
      round: p.round,
      index: leaf.microbatch,
      head: p.worker,
      data: p.data,
      inputs: { weights, inputBytes, upstreamGradBytes },
    });
  } catch (err) {
    return fail(`committed inputs do not re-execute: ${(err as Error).message}`);
  }
  const { computeMs } = mine;
  if (mine.inputActHash !== leaf.inputActHash)
    return fail("input is not the microbatch assigned to this (model, round, head, index)", computeMs);

  /**
   * Within tolerance of the own re-execution; an output activation payload must also carry
   * exactly the targets the stage drew or received (forwarding other targets is fraud, however
   * close the activation).
   */
  const compareTensor = async (
    kind: ComparedKind,
    claimedHash: Hex,
    own: { values: Float32Array; hash: Hex; targets?: Uint8Array | undefined },
  ): Promise<string | undefined> => {
    if (own.hash === claimedHash) {
      distance[kind] = 0;
      return undefined;
    }
    const bytes = await p.fetch("tensor", claimedHash);
    let claimed: Float32Array;
    if (own.targets) {
      const payload = decodeActivationPayload(bytes);
      if (!equalBytes(payload.targets.bytes, own.targets)) return `${kind} carries other targets than the microbatch's`;
      claimed = payload.values;
    } else claimed = decodeWireTensor(bytes).values;
    distance[kind] = relativeL2(claimed, own.values);
    return distance[kind] <= p.tolerance[kind]
      ? undefined
      : `${kind} differs: relative L2 ${distance[kind].toExponential(2)} > ${p.tolerance[kind].toExponential(2)}`;
  };
  try {
    const problems: (string | undefined)[] = [];
    if (isLast) {
      const claimed = decodeTensor(await p.fetch("tensor", leaf.outputActHash));
      const claimedLoss = claimed.dtype === "float32" && claimed.data.length === 1 ? (claimed.data[0] as number) : Number.NaN;
      distance.loss = Math.abs(claimedLoss - (mine.loss as number)) / Math.max(1e-12, Math.abs(mine.loss as number));
      problems.push(distance.loss <= p.tolerance.loss ? undefined : `loss differs: ${claimedLoss} vs ${mine.loss}`);
    } else
      problems.push(
        await compareTensor(
          "outputActivation",
          leaf.outputActHash,
          mine.output as { values: Float32Array; hash: Hex; targets: Uint8Array },
        ),
      );
    if (!isFirst)
      problems.push(await compareTensor("inputGradient", leaf.inputGradHash, mine.inputGrad as { values: Float32Array; hash: Hex }));
    if (fastGradRoot(mine.parameterGradient) === leaf.gradRoot) distance.parameterGradient = 0;
    else {
      const claimed = float32FromBytes(await p.fetch("gradient", leaf.gradRoot));
      distance.parameterGradient = relativeL2(claimed, mine.parameterGradient);
      if (distance.parameterGradient > p.tolerance.parameterGradient)
        problems.push(
          `parameterGradient differs: relative L2 ${distance.parameterGradient.toExponential(2)} > ${p.tolerance.parameterGradient.toExponential(2)}`,
        );
    }
    const problem = problems.find((x) => x !== undefined);
    return problem ? fail(problem, computeMs) : { ok: true, distance, computeMs };
  } catch (err) {
    if (err instanceof ContentUnavailableError) return fail(`committed output not served (${err.reason})`, computeMs);
    // Served bytes hash to the committed key but are no activation payload or tensor: the committed output is malformed.
    if (err instanceof FrameFormatError || err instanceof TensorFormatError)
      return fail(`committed output is malformed: ${err.shortMessage}`, computeMs);
    throw err;
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
