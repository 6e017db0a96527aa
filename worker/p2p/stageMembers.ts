// The stage directory, as the worker uses it: announce this node, find the next stage, and accept
// a link only from a staked member of the neighbouring stage (docs/PROTOCOL.md "Stages").
import type { Libp2p } from "@libp2p/interface";
import type { Logger } from "pino";
import { type Account, type Address, bytesToHex, type Chain, type Hex, type LocalAccount, type Transport, type WalletClient } from "viem";
import { announcePeer } from "../../sdk/actions/swarm/announcePeer.ts";
import { getPeerRecord } from "../../sdk/actions/swarm/getPeerRecord.ts";
import { getStageMember } from "../../sdk/actions/swarm/getStageMember.ts";
import { getStageMembers } from "../../sdk/actions/swarm/getStageMembers.ts";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { peerIdText } from "../../sdk/protocol/peerId.ts";
import { NoStagePeerError } from "./errors.ts";
import type { ContentGate } from "./contentProtocol.ts";
import { type HelloDomain, type IsStakedNeighbour, signHello, verifyHello } from "./hello.ts";
import { stakedNeighbourOnChain } from "./stakedNeighbour.ts";
import { askStage } from "./stageStatus.ts";

/**
 * {@link stakedNeighbourOnChain}, and the worker is a member of the claimed stage of `modelId`
 * now (`getStageMember`: a directory record of that stage with the hello's peer id, and a serving
 * miner of the model or an active validator of that stage): only a member of a stage may link to
 * it as a neighbour or fetch its weights, whatever else it stakes.
 *
 * @example
 * const isStakedNeighbour = stageMemberOnChain(client, deployments, 1n)
 */
export function stageMemberOnChain(client: ShardholderClient, deployments: Deployments, modelId: bigint): IsStakedNeighbour {
  const staked = stakedNeighbourOnChain(client, deployments);
  return async (claim) => {
    if (!(await staked(claim))) return false;
    const member = await getStageMember(client, { deployments, modelId, account: claim.worker });
    return member !== undefined && member.stage === claim.stage && member.peerId.toLowerCase() === bytesToHex(claim.peerId).toLowerCase();
  };
}

/** Where to dial a stage member: its first announced multiaddr with `/p2p/<id>`, or undefined. */
export function memberDialAddress(member: { multiaddrs: readonly string[]; peerId: Hex }): string | undefined {
  const first = member.multiaddrs[0];
  return first ? `${first}/p2p/${peerIdText(member.peerId)}` : undefined;
}

/**
 * Publishes `node`'s peer record for (`modelId`, `stage`) unless the directory already holds the
 * same one (a restart with the same peer key and addresses sends nothing). Returns what it did.
 */
export async function announceStageMember(p: {
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  client: ShardholderClient;
  deployments: Deployments;
  modelId: bigint;
  stage: number;
  node: Libp2p;
  logger?: Logger | undefined;
}): Promise<"announced" | "unchanged"> {
  const peerId = bytesToHex(p.node.peerId.toMultihash().bytes);
  const own = `/p2p/${p.node.peerId.toString()}`;
  const multiaddrs = p.node
    .getMultiaddrs()
    .map((a) => a.toString().replace(own, ""))
    .slice(0, 8);
  const current = await getPeerRecord(p.client, { deployments: p.deployments, modelId: p.modelId, account: p.wallet.account.address });
  const same =
    current !== undefined &&
    current.stage === p.stage &&
    current.peerId.toLowerCase() === peerId.toLowerCase() &&
    current.multiaddrs.join(" ") === multiaddrs.join(" ");
  if (same) return "unchanged";
  await announcePeer(p.wallet, { deployments: p.deployments, modelId: p.modelId, stage: p.stage, peerId, multiaddrs });
  p.logger?.info({ stage: p.stage, peerId: p.node.peerId.toString(), multiaddrs }, "announced peer record in the stage directory");
  return "announced";
}

/**
 * The dial address (`<multiaddr>/p2p/<id>`) of a miner of `stage`, from the stage directory: the
 * most recently announced one that answers, over {@link STAGE_STATUS_PROTOCOL}, that it trains
 * that stage (a member without a pipeline there is skipped). Waits, polling, until one answers or
 * `timeoutMs` passed ({@link NoStagePeerError}).
 */
export async function discoverStagePeer(p: {
  client: ShardholderClient;
  deployments: Deployments;
  node: Libp2p;
  modelId: bigint;
  stage: number;
  timeoutMs: number;
  pollMs: number;
  exclude?: Address | undefined;
  onWait?: (() => void) | undefined;
}): Promise<{ address: string; worker: Address }> {
  const started = performance.now();
  for (;;) {
    const members = (await getStageMembers(p.client, { deployments: p.deployments, modelId: p.modelId, stage: p.stage }))
      .filter((m) => m.role === "miner" && m.account !== p.exclude)
      .sort((a, b) => Number(b.announcedAt - a.announcedAt));
    for (const m of members) {
      const address = memberDialAddress(m);
      if (address && (await askStage(p.node, address)) === p.stage) return { address, worker: m.account };
    }
    const waited = performance.now() - started;
    if (waited >= p.timeoutMs) throw new NoStagePeerError({ modelId: p.modelId, stage: p.stage, waitedMs: waited });
    p.onWait?.();
    await new Promise((resolve) => setTimeout(resolve, p.pollMs));
  }
}

/**
 * The dial addresses of every miner of `stage` in the stage directory that answers, over
 * {@link STAGE_STATUS_PROTOCOL}, that it trains that stage: the replicas a stage routes its
 * microbatches to. Empty when none answers (the caller waits and asks again).
 *
 * @example
 * const replicas = await stageReplicas({ client, deployments, node, modelId: 1n, stage: 2 })
 */
export async function stageReplicas(p: {
  client: ShardholderClient;
  deployments: Deployments;
  node: Libp2p;
  modelId: bigint;
  stage: number;
  exclude?: Address | undefined;
}): Promise<{ address: string; worker: Address }[]> {
  const members = (await getStageMembers(p.client, { deployments: p.deployments, modelId: p.modelId, stage: p.stage })).filter(
    (m) => m.role === "miner" && m.account !== p.exclude,
  );
  const answering = await Promise.all(
    members.map(async (m) => {
      const address = memberDialAddress(m);
      return address && (await askStage(p.node, address)) === p.stage ? { address, worker: m.account } : undefined;
    }),
  );
  return answering.filter((x) => x !== undefined);
}

/**
 * Who may fetch this stage's weights and gradients: a requester whose hello (signed by a staked
 * worker's or validator's signing key, naming its peer id) names this `stage`, matches the
 * connection's peer id, and whose stage-directory record is this stage with that peer id.
 *
 * @example
 * await serveContent(node, store, { gate: stageContentGate({ modelId, specHash, stage, domain, isMember: stageMemberOnChain(client, deployments, modelId) }) })
 */
export function stageContentGate(p: {
  modelId: bigint;
  specHash: Hex;
  stage: number;
  domain: HelloDomain;
  isMember: IsStakedNeighbour;
}): ContentGate {
  return async ({ hello, remotePeer }) => {
    if (!hello) return false;
    try {
      await verifyHello(
        { modelId: p.modelId, domain: p.domain, isStakedNeighbour: p.isMember },
        { payload: hello, specHash: p.specHash, stage: p.stage, remotePeer },
      );
      return true;
    } catch {
      return false;
    }
  };
}

/** This node's hello for content requests: its identity, stage and peer id, signed by `signer`. */
export function contentHello(p: {
  signer: LocalAccount;
  domain: HelloDomain;
  modelId: bigint;
  specHash: Hex;
  stage: number;
  worker: Address;
  node: Libp2p;
}): Promise<Uint8Array> {
  return signHello(p.signer, p.domain, {
    modelId: p.modelId,
    specHash: p.specHash,
    stage: p.stage,
    worker: p.worker,
    peerId: p.node.peerId.toMultihash().bytes,
  });
}
