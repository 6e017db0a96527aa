import type { Libp2p } from "@libp2p/interface";
import type { Address, Hex, LocalAccount } from "viem";
import { assignSlots, type Commitment, signCommitment, type MicrobatchItem } from "../../sdk/protocol/index.ts";
import type { SignedCommitment } from "../../sdk/actions/miner/submitCommitments.ts";
import { buildCommitment, toItem } from "../../worker/commit/commitment.ts";
import type { PipelineNeighbours } from "../../worker/journal/records.ts";
import { ContentStore } from "../../worker/p2p/content.ts";
import { captureLinkContent, storeRoundContent } from "../../worker/p2p/contentCapture.ts";
import { serveContent } from "../../worker/p2p/contentProtocol.ts";
import { createPipeNode } from "../../worker/p2p/node.ts";
import { type FrameLimits, UNBOUNDED_FRAME_LIMITS } from "../../worker/p2p/frames.ts";
import { anySignedNeighbour, LOCAL_HELLO_DOMAIN } from "../../worker/p2p/hello.ts";
import { openPipe, pipeNeighbours, type StagePipe } from "../../worker/p2p/pipe.ts";
import type { WireFormat } from "../../worker/p2p/wire.ts";
import { type RoundResult, runStageRound } from "../../worker/pipeline/runner.ts";
import type { MicrobatchSource, PipelineStage } from "../../worker/pipeline/types.ts";

/** One stage worker: its staking identity, signing key, shard, content store and libp2p node. */
export type StageMiner = {
  worker: Address;
  signer: LocalAccount;
  stage: PipelineStage;
  store: ContentStore;
  node: Libp2p;
  /** Multiaddr of the content server. */
  address: string;
};

/** What a miner did in one round, before any record-level cheat. */
export type MinedRound = {
  result: RoundResult;
  items: MicrobatchItem[];
  weightsBefore: Hex;
  weightsAfter: Hex;
  neighbours: PipelineNeighbours;
};

/** Creates a miner with its own libp2p node serving its content store on `/shardholder/fetch/2.0.0`. */
export async function createMiner({
  worker,
  signer,
  stage,
}: {
  worker: Address;
  signer: LocalAccount;
  stage: PipelineStage;
}): Promise<StageMiner> {
  const node = await createPipeNode();
  const store = new ContentStore();
  await serveContent(node, store);
  const address = node.getMultiaddrs()[0]?.toString() as string;
  return { worker, signer, stage, store, node, address };
}

/**
 * One pipeline of stage miners connected over real libp2p links (TCP + noise + yamux on
 * loopback), every link captured into its miner's content store.
 */
export class MinerPipeline {
  private constructor(
    readonly miners: StageMiner[],
    readonly pipes: StagePipe[],
  ) {}

  static async connect(
    miners: StageMiner[],
    modelKey: Hex,
    options: { modelId?: bigint | undefined; limits?: FrameLimits | undefined } = {},
  ): Promise<MinerPipeline> {
    const count = miners.length;
    const modelId = options.modelId ?? 1n;
    const pipes = await Promise.all(
      miners.map((m, s) =>
        openPipe({
          node: m.node,
          stageIndex: s,
          stageCount: count,
          modelKey,
          // In-process harness of benchmarks and tests: the miners sign their hellos with their
          // real signing keys, but nobody asks a chain whether the neighbour is staked.
          auth: { modelId, worker: m.worker, signer: m.signer, domain: LOCAL_HELLO_DOMAIN, isStakedNeighbour: anySignedNeighbour },
          limits: options.limits ?? UNBOUNDED_FRAME_LIMITS,
          nextAddress: s < count - 1 ? (miners[s + 1] as StageMiner).address : undefined,
        }),
      ),
    );
    pipes.forEach((p, s) => {
      for (const link of [p.prev, p.next]) if (link) captureLinkContent(link, (miners[s] as StageMiner).store);
    });
    return new MinerPipeline(miners, pipes);
  }

  /**
   * Trains one round on every stage and stores what each stage committed to. Stage 0 draws the
   * data for `head`, by default its own worker address (what an honest head does).
   */
  async run({
    round,
    microbatches,
    steps,
    data,
    wire = "int8",
    head,
  }: {
    round: bigint;
    microbatches: number;
    steps?: number | undefined;
    data: MicrobatchSource;
    wire?: WireFormat;
    head?: Address | undefined;
  }): Promise<MinedRound[]> {
    const drawnFor = head ?? (this.miners[0] as StageMiner).worker;
    const results = await Promise.all(
      this.miners.map((m, s) =>
        runStageRound({
          stage: m.stage,
          round,
          microbatches,
          steps,
          schedule: "1f1b",
          wire,
          prev: this.pipes[s]?.prev,
          next: this.pipes[s]?.next,
          ...(s === 0 ? { data, head: drawnFor } : {}),
        }),
      ),
    );
    return results.map((result, s) => {
      const miner = this.miners[s] as StageMiner;
      const { weightsRootBefore: weightsBefore } = storeRoundContent(miner.store, {
        stepWeights: result.stepWeights,
        gradients: result.records.map((r) => r.parameterGradient),
        losses: result.losses,
      });
      const weightsAfter = miner.store.putWeights(miner.stage.exportWeights());
      const neighbours = pipeNeighbours(this.pipes[s] as StagePipe);
      return { result, items: assignSlots(result.records.map((r) => toItem(r, neighbours))), weightsBefore, weightsAfter, neighbours };
    });
  }
}

/** Record-level tampering between training and signing (replay, copy, wrong model/round, ...). */
export type CommitTamper = (draft: { commitment: Commitment; items: MicrobatchItem[] }) => {
  commitment: Commitment;
  items: MicrobatchItem[];
};

/**
 * Builds, signs (with `signer`, normally the miner's registered key) and publishes (items
 * manifest in the content store) a miner's round commitment.
 */
export async function commitMined(
  miner: StageMiner,
  mined: MinedRound,
  {
    modelId,
    round,
    ledger,
    chainId,
    tamper,
    signer,
  }: {
    modelId: bigint;
    round: bigint;
    ledger: Address;
    chainId: number;
    tamper?: CommitTamper | undefined;
    signer?: LocalAccount | undefined;
  },
): Promise<SignedCommitment> {
  const commitment = buildCommitment({
    modelId,
    round,
    stage: miner.stage.index,
    worker: miner.worker,
    items: mined.items,
    weightsRootBefore: mined.weightsBefore,
    weightsRootAfter: mined.weightsAfter,
  });
  const draft = tamper ? tamper({ commitment, items: mined.items }) : { commitment, items: mined.items };
  const signature = await signCommitment(signer ?? miner.signer, { ledger, chainId, commitment: draft.commitment });
  // A draft whose leaves do not back its itemCount has no valid manifest to serve: it stays unserved.
  if (draft.items.length === draft.commitment.itemCount)
    miner.store.putManifest({ commitment: draft.commitment, signature, items: draft.items });
  return { commitment: draft.commitment, signature };
}
