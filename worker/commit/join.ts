// A miner joining a model that has been training: it starts its stage from the weights the
// network reached, not from the initial ones (which would fork the model: loss 4.58 while the
// network is at 3.1). Weights continuity binds a worker only to its own previous commitment
// (docs/PROTOCOL.md, "Weights continuity"), so a newcomer may start from anyone's; it takes them
// from a worker whose last-round commitment the chain accepted, and trusts nobody:
//   1. the chain lists the accepted commitments of (model, round r-1) with their itemsRoot;
//   2. the peer serves the signed items manifest under that itemsRoot (content-addressed);
//   3. the manifest's commitment must hash to the digest the ledger stored for that worker;
//   4. its weightsRootAfter names the weights, fetched from the peer and checked against the root.
import type { Libp2p } from "@libp2p/interface";
import type { Address, Hex, PublicClient } from "viem";
import { getAcceptedCommitments } from "../../sdk/actions/miner/getAcceptedCommitments.ts";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { storedCommitmentDigest } from "../../sdk/protocol/commitment.ts";
import { decodeManifest, float32FromBytes } from "../p2p/content.ts";
import { fetchContent } from "../p2p/contentProtocol.ts";

/** A content server of a worker (a network file's `peers`). */
export type JoinPeer = { stage: number; worker: Address; multiaddr: string };

/** Weights a joining stage starts from, and whose they were. */
export type JoinedWeights = { weights: Float32Array; weightsRoot: Hex; round: bigint; worker: Address; peer: string };

/** Why a candidate was passed over (for the log). */
export type JoinAttempt = { worker: Address; peer: string; reason: string };

/**
 * The weights of `stage` after `round` (the newest finished round), from the first of `peers`
 * whose worker had an accepted, unslashed, unvoided commitment of it and serves what it committed
 * to. Undefined (with the reasons) when none does.
 */
export async function fetchStageWeights(p: {
  client: PublicClient;
  deployments: Deployments;
  modelId: bigint;
  stage: number;
  round: bigint;
  peers: readonly JoinPeer[];
  node: Libp2p;
  timeoutMs?: number;
  /** This miner's signed hello: peers serve a stage's weights only to members of that stage. */
  hello?: Uint8Array | undefined;
}): Promise<{ found?: JoinedWeights; attempts: JoinAttempt[] }> {
  const accepted = (await getAcceptedCommitments(p.client, { deployments: p.deployments, modelId: p.modelId, round: p.round })).filter(
    (c) => c.stage === p.stage,
  );
  const attempts: JoinAttempt[] = [];
  for (const peer of p.peers.filter((x) => x.stage === p.stage)) {
    const fail = (reason: string) => void attempts.push({ worker: peer.worker, peer: peer.multiaddr, reason });
    const commitment = accepted.find((c) => c.worker.toLowerCase() === peer.worker.toLowerCase());
    if (!commitment) {
      fail(`no accepted commitment of round ${p.round}`);
      continue;
    }
    const record = await getCommitment(p.client, {
      deployments: p.deployments,
      modelId: p.modelId,
      round: p.round,
      stage: p.stage,
      worker: commitment.worker,
    });
    if (!record.found || record.slashed || record.voided) {
      fail("its commitment was slashed or voided");
      continue;
    }
    try {
      const manifest = decodeManifest(
        await fetchContent({ node: p.node, address: peer.multiaddr, kind: "items", key: commitment.itemsRoot, timeoutMs: p.timeoutMs }),
      );
      const c = manifest.commitment;
      const same =
        c.modelId === p.modelId && c.round === p.round && c.stage === p.stage && c.worker.toLowerCase() === commitment.worker.toLowerCase();
      if (
        !same ||
        storedCommitmentDigest(c)
          .slice(0, 2 + 36)
          .toLowerCase() !== record.digestPrefix.toLowerCase()
      ) {
        fail("its manifest's commitment is not the one the ledger stored");
        continue;
      }
      const bytes = await fetchContent({
        node: p.node,
        address: peer.multiaddr,
        kind: "weights",
        key: c.weightsRootAfter,
        timeoutMs: p.timeoutMs,
        hello: p.hello,
      });
      return {
        found: {
          weights: float32FromBytes(bytes),
          weightsRoot: c.weightsRootAfter,
          round: p.round,
          worker: commitment.worker,
          peer: peer.multiaddr,
        },
        attempts,
      };
    } catch (err) {
      fail((err as { shortMessage?: string }).shortMessage ?? (err as Error).message);
    }
  }
  return { attempts };
}
