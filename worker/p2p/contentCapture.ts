import type { Hex } from "viem";
import { encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import type { ContentStore } from "./content.ts";
import type { Frame } from "./frames.ts";
import type { PipeLink } from "./link.ts";

/**
 * Keeps every activation payload (activation and targets) and gradient `link` sends or receives
 * in `store`, keyed by the hash of the exact payload bytes (the hashes the stage commits), so a
 * validator fetches exactly the committed input. Patches this link instance only.
 *
 * @example
 * const { prev, next } = await openPipe(...); for (const l of [prev, next]) if (l) captureLinkContent(l, store)
 */
export function captureLinkContent(link: PipeLink, store: ContentStore): void {
  const send = link.send.bind(link);
  const receive = link.receive.bind(link);
  const keep = (frame: Frame): void => {
    if (frame.kind === "activation" || frame.kind === "gradient") store.putTensor(frame.payload, frame.round);
  };
  link.send = async (frame: Frame): Promise<void> => {
    keep(frame);
    return send(frame);
  };
  link.receive = async (...args: Parameters<PipeLink["receive"]>): Promise<Frame> => {
    const frame = await receive(...args);
    keep(frame);
    return frame;
  };
  // Replicas take frames in arrival order (worker/pipeline/replicas.ts): those are committed inputs too.
  const receiveNext = link.receiveNext.bind(link);
  link.receiveNext = async (...args: Parameters<PipeLink["receiveNext"]>): Promise<Frame> => {
    const frame = await receiveNext(...args);
    keep(frame);
    return frame;
  };
}

/** The per-microbatch parts of a stage round that the links do not carry. */
export type RoundContent = {
  /** The round this content belongs to (default: the store's current round). */
  round?: bigint | undefined;
  /**
   * The stage's flattened weights at the start of each optimizer step of the round, in step order
   * (the first is the round's start) with the roots the runner hashed: the weights the step's items name and ran on.
   */
  stepWeights: readonly { root: Hex; weights: Float32Array }[];
  /** Per-microbatch parameter gradients (the runner's records). */
  gradients: readonly Float32Array[];
  /** The last stage's per-microbatch losses (empty on other stages). */
  losses: readonly number[];
};

/**
 * Stores what a stage committed to but did not send over a link: the weights each step started
 * from (by `weightsRoot`), each parameter gradient (by `gradRoot`) and each loss (scalar tensor
 * bytes). Returns the root of the round's starting weights and each gradient's root, in order
 * (the items' `gradRoot`s: hashed once here, not again when the items are built).
 */
export function storeRoundContent(store: ContentStore, content: RoundContent): { weightsRootBefore: Hex; gradRoots: Hex[] } {
  const { round } = content;
  const [start, ...later] = content.stepWeights;
  if (!start) throw new RangeError("storeRoundContent needs the weights of at least one step");
  const gradRoots = content.gradients.map((g) => store.putGradient(g, round));
  for (const loss of content.losses) store.putTensor(encodeTensor({ dtype: "float32", shape: [], data: new Float32Array([loss]) }), round);
  for (const w of later) store.putWeights(w.weights, round, w.root);
  return { weightsRootBefore: store.putWeights(start.weights, round, start.root), gradRoots };
}
