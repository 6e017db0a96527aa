import { fewerLayers, lowerPrecision, randomGradients, scaledGradients, staleGradients, zeroGradients } from "../cheat/strategies.ts";
import { copyCommitment, copyContent, copyItems, otherModel, otherRound, overclaimItems, replayItems } from "../cheat/records.ts";
import { buildCommitment } from "../../worker/commit/commitment.ts";
import { accountAt } from "../../scripts/lib/localProtocol.ts";
import { weightsRoot } from "../../sdk/protocol/index.ts";
import { createStage } from "../../worker/model/index.ts";
import type { Strategy } from "./scenario.ts";

/** Every cheating strategy of issue 6, as run by the tests and `npm run bench:cheat`. */
export const STRATEGIES: Strategy[] = [
  { name: "randomGradients", stage: 1, cheat: randomGradients },
  { name: "skippedBackwardZero", stage: 0, cheat: zeroGradients },
  { name: "skippedBackwardStale", stage: 1, fromRound: 1, cheat: staleGradients },
  {
    name: "replayEarlierRound",
    stage: 1,
    fromRound: 1,
    tamper: ({ history }) => replayItems((history[0]?.[1]?.items ?? []).slice()),
  },
  {
    name: "copyOtherMinersOutputs",
    stage: 0,
    // Copies stage 0 outputs of another miner (its own earlier round here: identical stage, other microbatches).
    tamper: ({ honest, miners }) => {
      const victim = honest[0]?.items ?? [];
      const store = miners[0]?.store;
      if (store) copyContent(store, store, victim);
      return copyItems(victim, 1);
    },
  },
  {
    name: "copyPipeline",
    stage: 0,
    // Issue 11: commits another pipeline's stage-0 commitment verbatim, only `worker` changed. The
    // victim (wallet 5) heads a pipeline whose work is exactly what this pipeline computes from
    // the victim's data; the honest stage 1 trains on what it is sent and stays honest.
    copiesHead: ({ s }) => accountAt(s, 5),
    tamper: ({ round, honest, bench }) => {
      const mined = honest[0];
      if (!mined) throw new Error("no stage-0 work to copy");
      const victim = buildCommitment({
        modelId: 1n,
        round,
        stage: 0,
        worker: accountAt(bench.s, 5),
        items: mined.items,
        weightsRootBefore: mined.weightsBefore,
        weightsRootAfter: mined.weightsAfter,
      });
      return copyCommitment({ commitment: victim, items: mined.items });
    },
  },
  { name: "lowerPrecision", stage: 1, cheat: lowerPrecision },
  { name: "fewerLayers", stage: 0, cheat: fewerLayers },
  { name: "scaledGradients", stage: 1, cheat: scaledGradients(2) },
  { name: "withholdInputs", stage: 1, withhold: true },
  // Signs itemCount 4 over a one-leaf tree (issue 11: units for leaves nobody has): its sampled
  // leaves are demanded on-chain and it is slashed when the demand goes unanswered.
  { name: "overclaimOneLeaf", stage: 1, tamper: () => overclaimItems(1) },
  { name: "overclaimHalf", stage: 0, tamper: () => overclaimItems(2) },
  { name: "forgedSignature", stage: 1, forgeSignature: true },
  { name: "otherRoundCommitment", stage: 1, tamper: ({ round }) => otherRound(round + 1n) },
  { name: "otherModelRejected", stage: 0, tamper: () => otherModel(2n) },
  {
    name: "otherModelChallenged",
    stage: 0,
    // Claims model 2's registered initial weights root, so the ledger accepts it; model 2's validators catch it.
    tamper: ({ bench }) => {
      const st = createStage(bench.otherSpec, 0);
      const root = weightsRoot(st.exportWeights());
      st.dispose();
      return otherModel(2n, root);
    },
  },
  {
    name: "weightsDiscontinuity",
    stage: 1,
    fromRound: 1,
    // Claims to start round 1 from its round-0 starting weights instead of where round 0 ended
    // (a discarded update): slashed on-chain by proveWeightsBreak from the two stored commitments.
    tamper:
      ({ history }) =>
      ({ commitment, items }) => ({
        commitment: { ...commitment, weightsRootBefore: history[0]?.[1]?.weightsBefore ?? commitment.weightsRootBefore },
        items,
      }),
  },
];

/** Both miners honest: the control run (no challenge may be opened against anyone). */
export const HONEST: Strategy = { name: "honest", stage: 1, fromRound: Number.MAX_SAFE_INTEGER };
