import { type Address, getAddress } from "viem";
import type { ProveDuplicateParameters } from "../../sdk/actions/validator/proveUnlinked.ts";
import { ledgerItem } from "../../sdk/actions/validator/ledgerItem.ts";
import { type Commitment, itemsTree } from "../../sdk/protocol/index.ts";
import type { ItemsManifest } from "../p2p/content.ts";

/** A commitment accepted on-chain (`worker`, `stage`) with the signed manifest its worker served. */
export type ServedCommitment = { c: { worker: Address; stage: number }; m: ItemsManifest };

/** Looks up the signed commitment a worker served for a stage of the audited round. */
export type SignedLookup = (worker: Address, stage: number) => Commitment | undefined;

/** The served commitments of one round, by worker and stage (docs/PROTOCOL.md, "Pipeline links"). */
export function signedLookup(served: readonly ServedCommitment[]): SignedLookup {
  return (worker, stage) => served.find((a) => a.c.worker === getAddress(worker) && a.c.stage === stage)?.m.commitment;
}

/** True when `up` (stage s) and `down` (stage s+1) name each other as the neighbours they exchanged data with. */
export function isLinked(up: Commitment, down: Commitment): boolean {
  return getAddress(up.downstream) === getAddress(down.worker) && getAddress(down.upstream) === getAddress(up.worker);
}

/**
 * The `proveUnlinked` evidence against `commitment`: a neighbour it names that names another
 * worker of its stage (`partner`), who names the neighbour back. Undefined when both of its links
 * hold, or when the neighbour names nobody who names it back (a lone liar voids nobody).
 *
 * @example
 * const proof = unlinkedProof(copy, signedLookup(served)) // { neighbour, partner } for a verbatim copy
 */
export function unlinkedProof(commitment: Commitment, signed: SignedLookup): { neighbour: Commitment; partner: Commitment } | undefined {
  for (const upstreamSide of [true, false]) {
    const named = upstreamSide ? commitment.upstream : commitment.downstream;
    const neighbour = BigInt(named) === 0n ? undefined : signed(named, commitment.stage + (upstreamSide ? -1 : 1));
    if (!neighbour) continue;
    const partnerWorker = upstreamSide ? neighbour.downstream : neighbour.upstream;
    if (BigInt(partnerWorker) === 0n || getAddress(partnerWorker) === getAddress(commitment.worker)) continue;
    const partner = signed(partnerWorker, commitment.stage);
    if (partner && getAddress(upstreamSide ? partner.upstream : partner.downstream) === getAddress(neighbour.worker)) return { neighbour, partner };
  }
  return undefined;
}

/**
 * The `proveDuplicate` evidence against `audited` (stage s > 0): a leaf with the same input as the
 * same leaf of another served commitment whose upstream names it, while `audited`'s own upstream
 * does not (it is the other's, never committed, or names someone else). Undefined when there is
 * none, or when its upstream committed but did not serve what it names.
 *
 * @example
 * const proof = duplicateProof(copy, served, accepted, signedLookup(served))
 */
export function duplicateProof(
  audited: ServedCommitment,
  served: readonly ServedCommitment[],
  accepted: readonly { worker: Address; stage: number }[],
  signed: SignedLookup,
): Pick<ProveDuplicateParameters, "copy" | "original" | "originalUpstream" | "copyUpstream"> | undefined {
  const commitment = audited.m.commitment;
  if (commitment.stage === 0) return undefined;
  const copyUpstream = signed(commitment.upstream, commitment.stage - 1);
  if (copyUpstream && getAddress(copyUpstream.downstream) === getAddress(commitment.worker)) return undefined;
  const upstreamCommitted = accepted.some((a) => a.worker === getAddress(commitment.upstream) && a.stage === commitment.stage - 1);
  if (upstreamCommitted && !copyUpstream) return undefined;
  for (const other of served) {
    if (other === audited || other.c.stage !== commitment.stage) continue;
    const originalUpstream = signed(other.m.commitment.upstream, commitment.stage - 1);
    if (!originalUpstream || getAddress(originalUpstream.downstream) !== getAddress(other.c.worker)) continue;
    const leaf = audited.m.items.find((l) => other.m.items.some((i) => i.index === l.index && i.inputActHash === l.inputActHash));
    if (!leaf) continue;
    const sameUpstream = getAddress(commitment.upstream) === getAddress(other.m.commitment.upstream);
    return {
      copy: ledgerItem({ commitment, tree: itemsTree(audited.m.items), index: leaf.index }),
      original: ledgerItem({ commitment: other.m.commitment, tree: itemsTree(other.m.items), index: leaf.index }),
      originalUpstream,
      copyUpstream: sameUpstream ? undefined : copyUpstream,
    };
  }
  return undefined;
}
