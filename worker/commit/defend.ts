import { type Address, decodeFunctionData, type Hash, isAddressEqual, type PublicClient } from "viem";
import { computeLedgerAbi } from "../../sdk/abi/computeLedger.ts";
import { getVoidedCommitments } from "../../sdk/actions/miner/getVoidedCommitments.ts";
import type { LedgerItem } from "../../sdk/actions/validator/ledgerItem.ts";
import { proveLinkEquivocation } from "../../sdk/actions/validator/proveLinkEquivocation.ts";
import { receiptLists } from "../../sdk/protocol/linkReceipt.ts";
import { type Journal, replay } from "../journal/index.ts";
import { journaledReceipt } from "../p2p/receipts.ts";
import type { AnswerAvailabilityParameters } from "./availability.ts";
import { pollUntilStopped } from "./poll.ts";

/** Who defends, where (the availability duty's parameters, with the journal of receipts instead of the content store). */
export type DefendVoidsParameters = Omit<AnswerAvailabilityParameters, "store"> & {
  /** Holds the neighbours' receipts (docs/PROTOCOL.md "Link receipts"). */
  journal: Journal;
};

/** What the voiding transaction used as evidence: the neighbour's leaf, and the partner it named instead. */
type VoidEvidence = { liar: LedgerItem; beneficiary?: LedgerItem | undefined };

const mutable = (item: Omit<LedgerItem, "proof"> & { proof: readonly Hash[] }): LedgerItem => ({ ...item, proof: [...item.proof] });

/** The neighbour leaf that voided `victim`'s commitment in transaction `hash` (`proveUnlinked` or `proveDuplicate`). */
async function voidEvidence(client: PublicClient, hash: Hash, victim: Address): Promise<VoidEvidence | undefined> {
  const tx = await client.getTransaction({ hash });
  let call;
  try {
    call = decodeFunctionData({ abi: computeLedgerAbi, data: tx.input });
  } catch {
    return undefined; // sent through another contract: nothing to read here
  }
  if (call.functionName === "proveUnlinked") {
    const [item, neighbour, partner] = call.args;
    return isAddressEqual(item.worker, victim) ? { liar: mutable(neighbour), beneficiary: mutable(partner) } : undefined;
  }
  if (call.functionName === "proveDuplicate") {
    const [copy, original, originalUpstream] = call.args;
    return isAddressEqual(copy.worker, victim) ? { liar: mutable(originalUpstream), beneficiary: mutable(original) } : undefined;
  }
  return undefined;
}

/**
 * Restores this worker's commitments that a neighbour's lie voided: for each `CommitmentVoided` of
 * the worker, reads the neighbour leaf the voiding transaction used; when the journal holds that
 * neighbour's signed receipt listing the leaf's microbatch and the leaf names someone else, proves
 * the equivocation (`proveLinkEquivocation`): the liar is slashed, the commitment counts again and
 * the copy the lie named is voided. A void this worker holds no receipt against is reported (the
 * neighbour's leaf agrees with what it signed, or no receipt was exchanged).
 */
export async function defendVoidedCommitments(
  p: DefendVoidsParameters,
  handled: Set<Hash>,
): Promise<{ restored: bigint[]; undefended: bigint[] }> {
  const voided = await getVoidedCommitments(p.publicClient, { deployments: p.deployments, modelId: p.modelId, worker: p.worker });
  const out = { restored: [] as bigint[], undefended: [] as bigint[] };
  const fresh = voided.filter((v) => !handled.has(v.transactionHash));
  // Read the journal only when there is something to defend (this runs every poll).
  const state = fresh.length ? replay(p.journal.records) : undefined;
  for (const v of fresh) {
    handled.add(v.transactionHash);
    const evidence = await voidEvidence(p.publicClient, v.transactionHash, p.worker);
    const receipt =
      evidence &&
      (state?.receipts.get(v.round) ?? [])
        .map((r) => journaledReceipt(r, p.modelId))
        .find(
          (r) => isAddressEqual(r.receipt.upstream, evidence.liar.worker) || isAddressEqual(r.receipt.downstream, evidence.liar.worker),
        );
    if (!evidence || !receipt || !receiptLists(receipt.receipt, evidence.liar.leaf.microbatch)) {
      out.undefended.push(v.round);
      p.logger?.warn(
        { round: v.round.toString(), neighbour: v.neighbour, tx: v.transactionHash },
        "commitment voided and no link receipt of that neighbour contradicts it",
      );
      continue;
    }
    try {
      await proveLinkEquivocation(p.wallet, {
        deployments: p.deployments,
        liar: evidence.liar,
        receipt: receipt.receipt,
        signature: receipt.signature,
        beneficiary: evidence.beneficiary,
      });
      out.restored.push(v.round);
      p.logger?.info(
        { round: v.round.toString(), liar: evidence.liar.worker, microbatch: evidence.liar.leaf.microbatch },
        "a neighbour's lie voided this commitment: proved its equivocation, commitment restored",
      );
    } catch (err) {
      out.undefended.push(v.round);
      p.logger?.error(
        { round: v.round.toString(), error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message },
        "could not prove the neighbour's equivocation",
      );
    }
  }
  return out;
}

/** Runs {@link defendVoidedCommitments} every `pollMs` until `stop()` (beside training and while serving). */
export function watchVoidedCommitments(p: DefendVoidsParameters & { pollMs: number }): { stop: () => Promise<void> } {
  const handled = new Set<Hash>();
  return pollUntilStopped(
    () => defendVoidedCommitments(p, handled),
    p.pollMs,
    (err) =>
      p.logger?.warn({ error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message }, "void check failed; retrying"),
  );
}
