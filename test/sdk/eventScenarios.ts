// Real chain states for the SDK's event-query tests: every event they read comes from a real
// transaction on a fresh in-process chain, and a recording client shows the block range each
// query asked the node for.
import {
  type Address,
  createPublicClient,
  custom,
  type Hash,
  type Hex,
  hexToBigInt,
  keccak256,
  parseEther,
  toHex,
  zeroAddress,
  zeroHash,
} from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { ModelSpec } from "../../sdk/actions/models/registerModel.ts";
import type { Commitment } from "../../sdk/protocol/commitment.ts";
import { type ItemsTree, itemsTree, type MicrobatchItem } from "../../sdk/protocol/merkle.ts";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "./fixture.ts";

const h = (s: string): Hex => keccak256(toHex(s));

/** Four microbatches per round: small trees, one attestable draw per validator and commitment. */
export const eventSpec: ModelSpec = testSpec({ microbatchesPerRound: 4 });

/**
 * A consistent two-stage hash chain of `round` (stage 0's outputs are stage 1's inputs) between
 * `workers[0]` (stage 0) and `workers[1]` (stage 1): each holds every microbatch (slot =
 * microbatch) and each leaf names the other as its neighbour.
 */
export function pipelineItems(round: bigint, [w0, w1]: readonly [Address, Address]): [MicrobatchItem[], MicrobatchItem[]] {
  const indices = [0, 1, 2, 3];
  const stage0 = indices.map((index) => ({
    index,
    microbatch: index,
    inputActHash: h(`tokens ${round} ${index}`),
    outputActHash: h(`act ${round} ${index}`),
    upstreamGradHash: h(`grad ${round} ${index}`),
    inputGradHash: zeroHash,
    gradRoot: h(`g0 ${round} ${index}`),
    weightsRoot: h(`w0 ${round}`),
    upstream: zeroAddress,
    downstream: w1,
  }));
  const stage1 = indices.map((index) => ({
    index,
    microbatch: index,
    inputActHash: h(`act ${round} ${index}`),
    outputActHash: h(`loss ${round} ${index}`),
    upstreamGradHash: zeroHash,
    inputGradHash: h(`grad ${round} ${index}`),
    gradRoot: h(`g1 ${round} ${index}`),
    weightsRoot: h(`w1 ${round}`),
    upstream: w0,
    downstream: zeroAddress,
  }));
  return [stage0, stage1];
}

/** Round 0 of model 1 committed by a two-stage pipeline: wallets 1 (stage 0) and 2 (stage 1), linked on every leaf. */
export type CommittedPipeline = {
  s: Shardholder;
  genesisTime: bigint;
  /** The workers' commitments and items trees, by stage. */
  commitments: [Commitment, Commitment];
  trees: [ItemsTree, ItemsTree];
  /** The one transaction that submitted both. */
  submitted: Hash;
  /** Signs and submits another commitment of a staked worker (wallets 1 to 3). */
  submit: (c: Commitment) => Promise<Hash>;
};

/**
 * A fresh chain with model 1 registered, workers 1, 2 and 3 staked (2 ETH each, wallet 3 commits
 * nothing yet), validators 4 to 7 staked (1 ETH each), and round 0 committed by workers 1 and 2.
 * With `breakAt`, stage 1 claims another input than stage 0 produced at that microbatch: a chain break
 * (the two leaves still name each other, so the ledger takes it).
 */
export async function committedPipeline(options: { breakAt?: number | undefined } = {}): Promise<CommittedPipeline> {
  const s = await deployShardholder();
  const relayer = actionsOf(s, 0);
  await relayer.registerModel({ spec: eventSpec });
  const keys = new Map<Address, PrivateKeyAccount>();
  for (const w of [1, 2, 3]) {
    const key = privateKeyToAccount(generatePrivateKey());
    keys.set(accountAt(s, w), key);
    await actionsOf(s, w).stake({ payout: accountAt(s, w), signingKey: key.address, valueWei: parseEther("2") });
  }
  // Validators hold one stage: 4 and 6 validate stage 0, 5 and 7 stage 1.
  for (const v of [4, 5, 6, 7]) {
    await actionsOf(s, v).stake({ payout: accountAt(s, v), signingKey: accountAt(s, v), valueWei: parseEther("1") });
    await actionsOf(s, v).setValidator({ modelId: 1n, stage: v % 2 === 0 ? 0 : 1, validator: true });
  }
  const sign = (c: Commitment) => {
    const signer = keys.get(c.worker);
    if (!signer) throw new Error(`no signing key for ${c.worker}`);
    return relayer.signRoundCommitment({ commitment: c, signer });
  };
  const [w0, w1] = [accountAt(s, 1), accountAt(s, 2)];
  const [stage0, stage1] = pipelineItems(0n, [w0, w1]);
  const claimed = stage1.map((i) => (i.microbatch === options.breakAt ? { ...i, inputActHash: h(`made up ${i.microbatch}`) } : i));
  const trees: [ItemsTree, ItemsTree] = [itemsTree(stage0), itemsTree(claimed)];
  const commitments = trees.map((tree, stage): Commitment => ({
    modelId: 1n,
    round: 0n,
    stage,
    worker: stage === 0 ? w0 : w1,
    itemsRoot: tree.root,
    itemCount: 4,
    weightsRootBefore: eventSpec.initialWeightsRoots[stage] as Hex,
    weightsRootAfter: h(`after ${stage}`),
  })) as [Commitment, Commitment];
  const { batches } = await relayer.submitCommitments({ signed: await Promise.all(commitments.map(sign)) });
  const submitted = batches[0]?.transactionHash;
  if (!submitted) throw new Error("nothing submitted");
  const submit = async (c: Commitment) => {
    const { batches: sent } = await relayer.submitCommitments({ signed: [await sign(c)] });
    const hash = sent[0]?.transactionHash;
    if (!hash) throw new Error("nothing submitted");
    return hash;
  };
  const { genesisTime } = await relayer.getModel({ modelId: 1n });
  return { s, genesisTime, commitments, trees, submitted, submit };
}

/**
 * Draws the committee of `disputeId` until it is complete. One `drawCommittee` call makes a bounded
 * number of attempts; in this scenario a stage's two validators are the only candidates, and draws
 * landing on the challenger are skipped, so a call fills its 5 seats only ~94% of the time and the
 * draw continues in the next call.
 */
export async function drawnCommittee(p: CommittedPipeline, disputeId: bigint): Promise<{ members: readonly Address[]; seats: number }> {
  for (let call = 0; call < 10; call++) {
    const drawn = await actionsOf(p.s, 9).drawCommittee({ disputeId });
    if (drawn.voteDeadline !== 0) return drawn;
  }
  throw new Error(`dispute ${disputeId}: no committee after 10 draw calls`);
}

/** Moves the chain clock to the start of round 0's challenge window (its commit window closed). */
export async function toChallengeWindow(p: CommittedPipeline): Promise<void> {
  await p.s.networkHelpers.time.increaseTo(p.genesisTime + BigInt(eventSpec.timing.commitWindowSec));
}

/** Moves the chain clock past round 0's challenge window: the round can be finalized. */
export async function pastChallengeWindow(p: CommittedPipeline): Promise<void> {
  await p.s.networkHelpers.time.increaseTo(p.genesisTime + BigInt(eventSpec.timing.commitWindowSec + eventSpec.timing.challengeWindowSec));
}

/**
 * A transport to the test chain that records the `fromBlock` of every `eth_getLogs` it sends, so a
 * test sees where a scan started (the deployment block, not block 0).
 */
export function recordingTransport(s: Shardholder): { transport: ReturnType<typeof custom>; fromBlocks: bigint[] } {
  const fromBlocks: bigint[] = [];
  const transport = custom({
    request: (args: { method: string; params?: unknown }) => {
      if (args.method === "eth_getLogs") {
        const [filter] = args.params as [{ fromBlock?: Hex }];
        if (filter.fromBlock?.startsWith("0x")) fromBlocks.push(hexToBigInt(filter.fromBlock));
      }
      return s.connection.provider.request(args as Parameters<typeof s.connection.provider.request>[0]);
    },
  });
  return { transport, fromBlocks };
}

/** A public client on the same chain over {@link recordingTransport}. */
export function recordingClient(s: Shardholder): { client: ReturnType<typeof createPublicClient>; fromBlocks: bigint[] } {
  const { transport, fromBlocks } = recordingTransport(s);
  return { client: createPublicClient({ chain: s.publicClient.chain, transport }), fromBlocks };
}
