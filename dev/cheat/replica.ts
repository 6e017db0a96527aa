// A lazy replica of one stage: it trains nothing. Each round it waits for the honest miner of its
// stage to commit, fetches that miner's public manifest and content (activations, weights) over
// libp2p, fabricates random parameter gradients in place of the backward pass, and commits and
// serves the result under its own stake. Validators re-executing one of its items find the
// gradients wrong; the committee votes fraud and the ledger slashes it.
import type { Libp2p } from "@libp2p/interface";
import { type Address, type Hex, type PublicClient, zeroHash } from "viem";
import type { LocalAccount } from "viem/accounts";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import { getAcceptedCommitments } from "../../sdk/actions/miner/getAcceptedCommitments.ts";
import { submitCommitments } from "../../sdk/actions/miner/submitCommitments.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { type MicrobatchItem, signCommitment } from "../../sdk/protocol/index.ts";
import { buildCommitment } from "../../worker/commit/commitment.ts";
import { type ContentKind, type ContentStore, decodeManifest, float32FromBytes, type ItemsManifest } from "../../worker/p2p/content.ts";
import { ContentUnavailableError, fetchContent } from "../../worker/p2p/contentProtocol.ts";

export type FabricatingReplicaParameters = {
  wallet: ShardholderClient & { account: { address: Address } };
  publicClient: PublicClient;
  deployments: Deployments;
  modelId: bigint;
  stage: number;
  signer: LocalAccount;
  node: Libp2p;
  store: ContentStore;
  /** The honest miner of the same stage, whose work is copied, and its content server. */
  honest: { worker: Address; address: string };
  pollMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Its signed hello: as a staked member of the stage it may fetch the stage's weights like any replica. */
  hello?: Uint8Array | undefined;
};

/** Noise shaped like small gradients; `seed` makes every item's fabrication different. */
export function fabricatedGradient(length: number, seed: number): Float32Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (((x >>> 0) / 0xffffffff) * 2 - 1) * 1e-2;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function honestItemsRoot(p: FabricatingReplicaParameters, round: bigint): Promise<Hex> {
  for (;;) {
    if (p.signal?.aborted) throw new Error("interrupted");
    const [found] = await getAcceptedCommitments(p.publicClient, {
      deployments: p.deployments,
      modelId: p.modelId,
      round,
      worker: p.honest.worker,
      stage: p.stage,
    });
    if (found) return found.itemsRoot;
    await sleep(p.pollMs ?? 500);
  }
}

/** Copies (`kind`, `key`) from the honest miner into the replica's store; absent keys are skipped. */
async function mirror(p: FabricatingReplicaParameters, kind: ContentKind, key: Hex): Promise<Uint8Array | undefined> {
  if (key === zeroHash || p.store.get(kind, key)) return p.store.get(kind, key);
  try {
    const bytes = await fetchContent({ node: p.node, address: p.honest.address, kind, key, timeoutMs: 5_000, hello: p.hello });
    p.store.put(kind, key, bytes);
    return bytes;
  } catch (err) {
    if (err instanceof ContentUnavailableError) return undefined;
    throw err;
  }
}

/**
 * Commits `round` as a fabricating replica; returns what it committed (the copied activation
 * hashes, the fabricated gradient roots) once the ledger accepted it.
 */
export async function commitFabricatedRound(p: FabricatingReplicaParameters, round: bigint): Promise<ItemsManifest> {
  const itemsRoot = await honestItemsRoot(p, round);
  const bytes = await fetchContent({ node: p.node, address: p.honest.address, kind: "items", key: itemsRoot, timeoutMs: 5_000 });
  const honest = decodeManifest(bytes);
  const before = await mirror(p, "weights", honest.commitment.weightsRootBefore);
  if (!before) throw new Error(`the honest miner does not serve its weights ${honest.commitment.weightsRootBefore}`);
  await mirror(p, "weights", honest.commitment.weightsRootAfter);
  // Every step's weights its copied leaves name: it serves all the inputs, only the gradients are made up.
  for (const root of new Set(honest.items.map((item) => item.weightsRoot))) await mirror(p, "weights", root);
  const parameterCount = float32FromBytes(before).length;
  const items: MicrobatchItem[] = [];
  for (const item of honest.items) {
    for (const key of [item.inputActHash, item.outputActHash, item.upstreamGradHash, item.inputGradHash]) await mirror(p, "tensor", key);
    // The backward pass it never ran: gradients made up, served and committed as its own.
    const gradient = fabricatedGradient(parameterCount, Number(round) * 1000 + item.index + 1);
    // A copy keeps the honest miner's leaves' neighbours, which name the honest miner back.
    items.push({ ...item, gradRoot: p.store.putGradient(gradient) });
  }
  const commitment = buildCommitment({
    modelId: p.modelId,
    round,
    stage: p.stage,
    worker: p.wallet.account.address,
    items,
    weightsRootBefore: honest.commitment.weightsRootBefore,
    weightsRootAfter: honest.commitment.weightsRootAfter,
  });
  const signature = await signCommitment(p.signer, {
    ledger: p.deployments.contracts.computeLedger,
    chainId: p.deployments.chainId,
    commitment,
  });
  const manifest = { commitment, signature, items };
  p.store.putManifest(manifest);
  await submitCommitments(p.wallet, { deployments: p.deployments, signed: [{ commitment, signature }] });
  return manifest;
}
