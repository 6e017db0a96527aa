// Link receipts between pipeline neighbours (docs/PROTOCOL.md "Link receipts"): once a round is
// durable each stage signs, for each neighbour, which microbatches it exchanged with it, and sends
// that on the pipe link. A stage makes a round durable only with its upstream's receipt in hand,
// so an upstream that later commits leaves naming someone else is proven to have lied.
import { type Address, type Hex, isAddressEqual, type LocalAccount, zeroAddress } from "viem";
import { BaseError } from "../../sdk/errors/base.ts";
import type { MicrobatchItem } from "../../sdk/protocol/merkle.ts";
import {
  type LinkReceipt,
  listedMicrobatches,
  microbatchBitmap,
  recoverLinkReceiptSigner,
  signLinkReceipt,
} from "../../sdk/protocol/linkReceipt.ts";
import type { ReceiptJournalRecord } from "../journal/index.ts";
import type { PipeLink } from "./link.ts";

/** Hello-kind frame key of a link receipt, `(round, LINK_RECEIPT)`: upstream to downstream and back. */
export const LINK_RECEIPT = 0x0300_0000;

/** A receipt and its signature as it travels and as it is journaled. */
export type SignedReceipt = { receipt: LinkReceipt; signature: Hex; signer: Address };

/** Where receipts are signed and checked: the ledger's EIP-712 domain and the model. */
export type ReceiptDomain = { ledger: Address; chainId: number; modelId: bigint };

/** A neighbour's receipt that does not say what this stage exchanged with it, or not under its key. */
export class ReceiptMismatchError extends BaseError {
  constructor(round: bigint, detail: string) {
    super(`The link receipt for round ${round} does not match this stage's round: ${detail}.`, { name: "ReceiptMismatchError" });
  }
}

/**
 * The receipts a stage signs for round `round` from its durable items: one per neighbour it named
 * (upstream side: as downstream; downstream side: as upstream), listing the microbatches of that
 * neighbour, ascending. `microbatches` is the round's count (the bitmap's length).
 */
export function receiptsFor(p: {
  domain: ReceiptDomain;
  round: bigint;
  stage: number;
  worker: Address;
  items: readonly MicrobatchItem[];
  microbatches: number;
}): LinkReceipt[] {
  const byNeighbour = (side: "upstream" | "downstream") => {
    const groups = new Map<Address, number[]>();
    for (const item of p.items) {
      const neighbour = item[side];
      if (!neighbour || isAddressEqual(neighbour, zeroAddress)) continue;
      groups.set(neighbour, [...(groups.get(neighbour) ?? []), item.microbatch]);
    }
    return groups;
  };
  const receipts: LinkReceipt[] = [];
  const base = { modelId: p.domain.modelId, round: p.round };
  for (const [upstream, mbs] of byNeighbour("upstream"))
    receipts.push({ ...base, stage: p.stage - 1, upstream, downstream: p.worker, microbatches: microbatchBitmap(mbs, p.microbatches) });
  for (const [downstream, mbs] of byNeighbour("downstream"))
    receipts.push({ ...base, stage: p.stage, upstream: p.worker, downstream, microbatches: microbatchBitmap(mbs, p.microbatches) });
  return receipts;
}

export async function signReceipt(signer: LocalAccount, domain: ReceiptDomain, receipt: LinkReceipt): Promise<SignedReceipt> {
  const signature = await signLinkReceipt(signer, { ledger: domain.ledger, chainId: domain.chainId, receipt });
  return { receipt, signature, signer: signer.address };
}

export function encodeReceipt(signed: SignedReceipt): Uint8Array {
  const { receipt } = signed;
  return new TextEncoder().encode(
    JSON.stringify({
      ...receipt,
      modelId: receipt.modelId.toString(),
      round: receipt.round.toString(),
      signature: signed.signature,
      signer: signed.signer,
    }),
  );
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX = /^0x([0-9a-fA-F]{2})*$/;

export function decodeReceipt(payload: Uint8Array): SignedReceipt {
  const x = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  const str = (k: string, re: RegExp): string => {
    const v = x[k];
    if (typeof v !== "string" || !re.test(v)) throw new Error(`link receipt without a valid ${k}`);
    return v;
  };
  const stage = x.stage;
  if (typeof stage !== "number" || !Number.isInteger(stage) || stage < 0 || stage > 0xffff)
    throw new Error("link receipt without a valid stage");
  return {
    receipt: {
      modelId: BigInt(str("modelId", /^\d+$/)),
      round: BigInt(str("round", /^\d+$/)),
      stage,
      upstream: str("upstream", ADDRESS) as Address,
      downstream: str("downstream", ADDRESS) as Address,
      microbatches: str("microbatches", HEX) as Hex,
    },
    signature: str("signature", HEX) as Hex,
    signer: str("signer", ADDRESS) as Address,
  };
}

export async function sendReceipt(link: PipeLink, signed: SignedReceipt): Promise<void> {
  await link.send({ kind: "hello", round: signed.receipt.round, microbatch: LINK_RECEIPT, payload: encodeReceipt(signed) });
}

/** The neighbour's receipt of `round` on `link` (waits like any awaited frame: the link's peer timeout). */
export async function receiveReceipt(link: PipeLink, round: bigint, timeoutMs?: number): Promise<SignedReceipt> {
  const frame = await link.receive("hello", round, LINK_RECEIPT, timeoutMs);
  return decodeReceipt(frame.payload);
}

/**
 * Checks a neighbour's receipt against what this stage exchanged with it: same model, round and
 * ends, exactly `microbatches` listed, and signed by `signer` (the key the neighbour's hello
 * recovered to). Throws {@link ReceiptMismatchError} otherwise.
 */
export async function checkReceipt(
  signed: SignedReceipt,
  expected: {
    domain: ReceiptDomain;
    round: bigint;
    stage: number;
    upstream: Address;
    downstream: Address;
    microbatches: readonly number[];
    signer: Address;
  },
): Promise<void> {
  const { receipt } = signed;
  const fail = (detail: string) => new ReceiptMismatchError(expected.round, detail);
  if (receipt.modelId !== expected.domain.modelId || receipt.round !== expected.round || receipt.stage !== expected.stage)
    throw fail("another model, round or stage");
  if (!isAddressEqual(receipt.upstream, expected.upstream) || !isAddressEqual(receipt.downstream, expected.downstream))
    throw fail("other ends than this link's");
  const listed = listedMicrobatches(receipt.microbatches);
  const want = [...expected.microbatches].sort((a, b) => a - b);
  if (listed.length !== want.length || listed.some((m, i) => m !== want[i]))
    throw fail(`it lists microbatches [${listed.join(",")}], this stage exchanged [${want.join(",")}]`);
  const recovered = await recoverLinkReceiptSigner({
    ledger: expected.domain.ledger,
    chainId: expected.domain.chainId,
    receipt,
    signature: signed.signature,
  });
  if (!isAddressEqual(recovered, expected.signer)) throw fail(`signed by ${recovered}, not by the neighbour's key ${expected.signer}`);
}

/** The journal record of a neighbour's receipt. */
export function receiptRecord(signed: SignedReceipt): ReceiptJournalRecord {
  const { receipt } = signed;
  return {
    type: "receipt",
    round: receipt.round,
    stage: receipt.stage,
    upstream: receipt.upstream,
    downstream: receipt.downstream,
    microbatches: receipt.microbatches,
    signer: signed.signer,
    signature: signed.signature,
  };
}

/** A journaled receipt back in its on-chain form. */
export function journaledReceipt(r: ReceiptJournalRecord, modelId: bigint): SignedReceipt {
  return {
    receipt: { modelId, round: r.round, stage: r.stage, upstream: r.upstream, downstream: r.downstream, microbatches: r.microbatches },
    signature: r.signature,
    signer: r.signer,
  };
}

/** The journal's durable items per round (`JournalState.items`). */
type DurableItems = { items: Map<bigint, Map<number, { item: MicrobatchItem }>> };

function durableItems(state: DurableItems, round: bigint): MicrobatchItem[] {
  return [...(state.items.get(round)?.values() ?? [])].map((d) => d.item);
}

/** What a stage's receipt exchange needs (see {@link linkReceiptExchange}). */
export type LinkReceiptExchangeParameters = {
  domain: ReceiptDomain;
  stage: number;
  worker: Address;
  signer: LocalAccount;
  /** The round's microbatch count (every bitmap's length). */
  microbatches: number;
  /** The link to the upstream stage that exchanges receipts (undefined at stage 0, or when it does not). */
  prev?: PipeLink | undefined;
  /** The link to the downstream stage that exchanges receipts. */
  next?: PipeLink | undefined;
  /** A fan-out stage's links to the next stage's replicas: each gets the receipt of what was kept from it. */
  replicas?: (() => Iterable<PipeLink>) | undefined;
  /** Send this stage's receipt upstream too (default); a replica does not (its fan-out stage does not collect them). */
  sendUpstream?: boolean | undefined;
  /** The session's first round: a downstream receipt is awaited only for rounds this session ran. */
  from: bigint;
  /** Longest wait for a downstream's receipt that should already be there. */
  downstreamWaitMs?: number | undefined;
  onWarning?: ((message: string, detail: Record<string, unknown>) => void) | undefined;
};

/**
 * The receipt side of a lockstep session, for `trainRounds`' `receipts`: before a round is durable,
 * the upstream's receipt for it (checked: it names this worker and lists exactly the microbatches
 * this stage received from it, under the upstream's hello key); a wrong or missing one drops the
 * link (a lost peer: the session reconnects and reruns the round). Once durable, this stage's own
 * receipts go to both neighbours, and the downstream's receipt of the previous round (sent before
 * it could finish this one) is collected: the downstream's is only a shield for this stage, so a
 * missing one is a warning, never a stop.
 */
export function linkReceiptExchange(p: LinkReceiptExchangeParameters) {
  return {
    async beforeDurable(round: bigint, records: readonly { index: number }[]): Promise<ReceiptJournalRecord[]> {
      const prev = p.prev;
      if (!prev) return [];
      const signed = await receiveReceipt(prev, round);
      try {
        if (!prev.peerWorker || !prev.peerSigner) throw new ReceiptMismatchError(round, "the upstream link has no authenticated worker");
        await checkReceipt(signed, {
          domain: p.domain,
          round,
          stage: p.stage - 1,
          upstream: prev.peerWorker,
          downstream: p.worker,
          microbatches: records.map((r) => r.index),
          signer: prev.peerSigner,
        });
      } catch (err) {
        prev.drop(err as Error);
        throw err;
      }
      return [receiptRecord(signed)];
    },
    async afterDurable(round: bigint, state: DurableItems): Promise<ReceiptJournalRecord[]> {
      const items = durableItems(state, round);
      for (const receipt of receiptsFor({
        domain: p.domain,
        round,
        stage: p.stage,
        worker: p.worker,
        items,
        microbatches: p.microbatches,
      })) {
        const toUpstream = isAddressEqual(receipt.downstream, p.worker);
        if (toUpstream && p.sendUpstream === false) continue;
        const peer = toUpstream ? receipt.upstream : receipt.downstream;
        const candidates = toUpstream ? [p.prev] : [p.next, ...(p.replicas?.() ?? [])];
        const link = candidates.find((l) => l?.peerWorker && !l.ended && isAddressEqual(l.peerWorker, peer));
        if (!link) continue;
        const signed = await signReceipt(p.signer, p.domain, receipt);
        if (link === p.prev || link === p.next) await sendReceipt(link, signed);
        // A replica that left after the round is its own loss, not this stage's.
        else
          await sendReceipt(link, signed).catch((err: Error) =>
            p.onWarning?.("could not send a replica its link receipt", { round: round.toString(), replica: peer, error: err.message }),
          );
      }
      return round > p.from ? collectDownstream(round - 1n, state) : [];
    },
    /** The downstream's receipt of the session's last round (after `trainRounds`). */
    collectLast: (round: bigint, state: DurableItems): Promise<ReceiptJournalRecord[]> => collectDownstream(round, state),
  };

  /** The downstream's receipt of `round`, checked like the upstream's against the microbatches this stage sent it. */
  async function collectDownstream(round: bigint, state: DurableItems): Promise<ReceiptJournalRecord[]> {
    const next = p.next;
    if (!next || round < p.from) return [];
    try {
      const signed = await receiveReceipt(next, round, p.downstreamWaitMs ?? 30_000);
      const downstream = next.peerWorker;
      if (!downstream || !next.peerSigner) throw new ReceiptMismatchError(round, "the downstream link has no authenticated worker");
      const sent = durableItems(state, round).filter((i) => isAddressEqual(i.downstream, downstream));
      await checkReceipt(signed, {
        domain: p.domain,
        round,
        stage: p.stage,
        upstream: p.worker,
        downstream,
        microbatches: sent.map((i) => i.microbatch),
        signer: next.peerSigner,
      });
      return [receiptRecord(signed)];
    } catch (err) {
      p.onWarning?.("no valid link receipt from the downstream stage: this round's leaves have no shield against a lie of its", {
        round: round.toString(),
        error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message,
      });
      return [];
    }
  }
}
