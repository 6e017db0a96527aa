// Who exchanged which microbatch with whom, from the served manifests of one round, and the
// on-chain evidence against leaves that claim a link nobody confirms (docs/PROTOCOL.md, "Pipeline
// links"). Links are per leaf: a stage with replicas exchanges each microbatch with the neighbour
// replica it was routed to.
import { type Address, getAddress } from "viem";
import type { ProveDuplicateParameters, ProveUnlinkedParameters } from "../../sdk/actions/validator/proveUnlinked.ts";
import { type LedgerItem, ledgerItem } from "../../sdk/actions/validator/ledgerItem.ts";
import { type ItemsTree, itemsTree, type MicrobatchItem } from "../../sdk/protocol/index.ts";
import type { ItemsManifest } from "../p2p/content.ts";

/** A commitment accepted on-chain (`worker`, `stage`) with the signed manifest its worker served. */
export type ServedCommitment = { c: { worker: Address; stage: number }; m: ItemsManifest };

/** Looks up the served commitment of a worker for a stage of the audited round. */
export type ServedLookup = (worker: Address, stage: number) => ServedCommitment | undefined;

const isZero = (a: Address) => BigInt(a) === 0n;
const same = (a: Address, b: Address) => getAddress(a) === getAddress(b);

/** The served commitments of one round, by worker and stage. */
export function servedLookup(served: readonly ServedCommitment[]): ServedLookup {
  const byKey = new Map(served.map((s) => [`${getAddress(s.c.worker)}:${s.c.stage}`, s]));
  return (worker, stage) => (isZero(worker) ? undefined : byKey.get(`${getAddress(worker)}:${stage}`));
}

const trees = new WeakMap<ItemsManifest, { tree: ItemsTree; byMicrobatch: Map<number, MicrobatchItem> }>();

function indexed(m: ItemsManifest): { tree: ItemsTree; byMicrobatch: Map<number, MicrobatchItem> } {
  let entry = trees.get(m);
  if (!entry) {
    entry = { tree: itemsTree(m.items), byMicrobatch: new Map(m.items.map((i) => [i.microbatch, i])) };
    trees.set(m, entry);
  }
  return entry;
}

/** The served leaf of `microbatch`, if the commitment holds one. */
export function leafOf(s: ServedCommitment | undefined, microbatch: number): MicrobatchItem | undefined {
  return s ? indexed(s.m).byMicrobatch.get(microbatch) : undefined;
}

/** The ledger payload (leaf, commitment roots, proof) of one served leaf. */
export function servedItem(s: ServedCommitment, leaf: MicrobatchItem): LedgerItem {
  return ledgerItem({ commitment: s.m.commitment, tree: indexed(s.m).tree, index: leaf.index });
}

/** True when `up`'s leaf (stage s) and `down`'s leaf (stage s+1) of one microbatch name each other. */
export function isLinked(up: { worker: Address; leaf: MicrobatchItem }, down: { worker: Address; leaf: MicrobatchItem }): boolean {
  return up.leaf.microbatch === down.leaf.microbatch && same(up.leaf.downstream, down.worker) && same(down.leaf.upstream, up.worker);
}

/** The microbatches `up` (stage s) and `down` (stage s+1) both claim to have exchanged with each other. */
export function linkedLeaves(up: ServedCommitment, down: ServedCommitment): { up: MicrobatchItem; down: MicrobatchItem }[] {
  const pairs: { up: MicrobatchItem; down: MicrobatchItem }[] = [];
  for (const a of up.m.items) {
    const b = leafOf(down, a.microbatch);
    if (b && isLinked({ worker: up.c.worker, leaf: a }, { worker: down.c.worker, leaf: b })) pairs.push({ up: a, down: b });
  }
  return pairs;
}

/**
 * The `proveUnlinked` evidence against `audited`: a leaf whose named neighbour's leaf of that
 * microbatch names another worker of its stage (`partner`), whose leaf names the neighbour back.
 * Undefined when every leaf's links hold, or when a neighbour names nobody who names it back (a
 * lone liar voids nobody).
 *
 * @example
 * const proof = unlinkedProof(copy, servedLookup(served)) // { item, neighbour, partner } for a verbatim copy
 */
export function unlinkedProof(
  audited: ServedCommitment,
  lookup: ServedLookup,
): Pick<ProveUnlinkedParameters, "item" | "neighbour" | "partner"> | undefined {
  const stage = audited.c.stage;
  for (const leaf of audited.m.items) {
    for (const upstreamSide of [true, false]) {
      const neighbour = lookup(upstreamSide ? leaf.upstream : leaf.downstream, stage + (upstreamSide ? -1 : 1));
      const neighbourLeaf = leafOf(neighbour, leaf.microbatch);
      if (!neighbour || !neighbourLeaf) continue;
      const partnerWorker = upstreamSide ? neighbourLeaf.downstream : neighbourLeaf.upstream;
      if (isZero(partnerWorker) || same(partnerWorker, audited.c.worker)) continue;
      const partner = lookup(partnerWorker, stage);
      const partnerLeaf = leafOf(partner, leaf.microbatch);
      if (!partner || !partnerLeaf || !same(upstreamSide ? partnerLeaf.upstream : partnerLeaf.downstream, neighbour.c.worker)) continue;
      return {
        item: servedItem(audited, leaf),
        neighbour: servedItem(neighbour, neighbourLeaf),
        partner: servedItem(partner, partnerLeaf),
      };
    }
  }
  return undefined;
}

/**
 * What proves `upstream` (stage s-1, served) did not send `microbatch` to `worker`: its leaf of the
 * microbatch naming someone else, or the slots around where the microbatch would be (slots ascend
 * by microbatch). Undefined when its leaf names `worker` (the link is confirmed).
 */
function unconfirmedBy(upstream: ServedCommitment, microbatch: number, worker: Address): LedgerItem[] | undefined {
  const own = leafOf(upstream, microbatch);
  if (own) return same(own.downstream, worker) ? undefined : [servedItem(upstream, own)];
  // Slot order, whatever order the manifest lists them in (the root does not depend on it).
  const items = [...upstream.m.items].sort((x, y) => x.index - y.index);
  const above = items.findIndex((i) => i.microbatch > microbatch);
  if (above === 0) return [servedItem(upstream, items[0] as MicrobatchItem)];
  if (above === -1) return [servedItem(upstream, items[items.length - 1] as MicrobatchItem)];
  return [servedItem(upstream, items[above - 1] as MicrobatchItem), servedItem(upstream, items[above] as MicrobatchItem)];
}

/**
 * The `proveDuplicate` evidence against `audited` (stage s > 0): a leaf with the same input as the
 * same microbatch's leaf of another served commitment whose upstream confirms it, while `audited`'s
 * upstream does not (it is the other's, never committed, or its served tree names someone else or
 * lacks the microbatch). Undefined when there is none, or when the upstream committed but did not
 * serve its manifest (nothing to prove it with).
 *
 * @example
 * const proof = duplicateProof(copy, served, accepted, servedLookup(served))
 */
export function duplicateProof(
  audited: ServedCommitment,
  served: readonly ServedCommitment[],
  accepted: readonly { worker: Address; stage: number }[],
  lookup: ServedLookup,
): Pick<ProveDuplicateParameters, "copy" | "original" | "originalUpstream" | "copyUpstream"> | undefined {
  const stage = audited.c.stage;
  if (stage === 0) return undefined;
  const others = served.filter((o) => o !== audited && o.c.stage === stage && !same(o.c.worker, audited.c.worker));
  for (const leaf of audited.m.items) {
    const upstream = lookup(leaf.upstream, stage - 1);
    const upstreamCommitted = accepted.some((a) => same(a.worker, leaf.upstream) && a.stage === stage - 1);
    if (upstreamCommitted && !upstream) continue;
    const evidence = upstream ? unconfirmedBy(upstream, leaf.microbatch, audited.c.worker) : [];
    if (!evidence) continue;
    for (const other of others) {
      const originalLeaf = leafOf(other, leaf.microbatch);
      if (!originalLeaf || originalLeaf.inputActHash !== leaf.inputActHash) continue;
      const originalUpstream = lookup(originalLeaf.upstream, stage - 1);
      const originalUpstreamLeaf = leafOf(originalUpstream, leaf.microbatch);
      if (!originalUpstream || !originalUpstreamLeaf || !same(originalUpstreamLeaf.downstream, other.c.worker)) continue;
      const sameUpstream = same(leaf.upstream, originalLeaf.upstream);
      return {
        copy: servedItem(audited, leaf),
        original: servedItem(other, originalLeaf),
        originalUpstream: servedItem(originalUpstream, originalUpstreamLeaf),
        copyUpstream: sameUpstream ? [] : evidence,
      };
    }
  }
  return undefined;
}

/**
 * Two leaves of `s` in the wrong order for `proveMisordered`: a later slot whose microbatch is not
 * above an earlier one's (a microbatch claimed twice, or a tree that hides which it lacks). Two
 * leaves at one slot never reach here: a served manifest with duplicate slots does not match its
 * root (`itemsTree` refuses it), so such a tree is left to the availability game.
 */
export function misorderedProof(s: ServedCommitment): { a: LedgerItem; b: LedgerItem } | undefined {
  const bySlot = [...s.m.items].sort((x, y) => x.index - y.index);
  for (let i = 1; i < bySlot.length; i++) {
    const [x, y] = [bySlot[i - 1] as MicrobatchItem, bySlot[i] as MicrobatchItem];
    if (y.microbatch <= x.microbatch) return { a: servedItem(s, x), b: servedItem(s, y) };
  }
  return undefined;
}
