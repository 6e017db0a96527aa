import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerCommitmentSlashedError,
  ComputeLedgerCommitmentVoidedError,
  ComputeLedgerInvalidProofError,
  ComputeLedgerNotADuplicateError,
  ComputeLedgerNotMisorderedError,
  ComputeLedgerNotUnlinkedError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerUnknownCommitmentError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";
import type { LedgerItem } from "./ledgerItem.ts";

export type ProveUnlinkedParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** A leaf of the commitment to void. */
    item: LedgerItem;
    /** The same microbatch's leaf of the neighbour `item.leaf` names, which names `partner` instead. */
    neighbour: LedgerItem;
    /** The same microbatch's leaf (at `item`'s stage) of the worker `neighbour.leaf` names; it names `neighbour` back. */
    partner: LedgerItem;
  };

export type ProveDuplicateParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** A leaf of the commitment to void. */
    copy: LedgerItem;
    /** The same microbatch's leaf, with the same input, of a commitment whose upstream link is confirmed. */
    original: LedgerItem;
    /** The leaf of that microbatch of `original.leaf.upstream` (stage s-1), naming `original.worker` downstream. */
    originalUpstream: LedgerItem;
    /**
     * What proves `copy.leaf.upstream` did not send it the microbatch: its leaf of the microbatch
     * naming another downstream, or the leaves around where it would be (the first slot when it is
     * above the microbatch, the last when below, or two adjacent slots bracketing it). Empty when
     * that upstream never committed this round (or is `original.leaf.upstream`).
     */
    copyUpstream?: readonly LedgerItem[] | undefined;
  };

export type VoidCommitmentReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { removedUnits: bigint }, wait>;

export type VoidCommitmentErrorType =
  | ComputeLedgerNotUnlinkedError
  | ComputeLedgerNotADuplicateError
  | ComputeLedgerNotMisorderedError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerInvalidProofError
  | ComputeLedgerCommitmentSlashedError
  | ComputeLedgerCommitmentVoidedError
  | ComputeLedgerOutsideChallengeWindowError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Voids a commitment (no reward; its units leave the round) a leaf of which names a neighbour that
 * exchanged that microbatch with another worker (the neighbour's leaf names `partner`, whose leaf
 * names it back): what a verbatim copy of someone else's leaves looks like on-chain. A pure proof
 * against three stored digests: anyone may send it during the round's challenge window.
 *
 * @example
 * import { proveUnlinked } from "@shardholder/sdk"
 * await proveUnlinked(walletClient, { deployments, item: copied, neighbour: upstreamLeaf, partner: originalLeaf })
 */
export async function proveUnlinked<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ProveUnlinkedParameters<wait>,
): Promise<VoidCommitmentReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "proveUnlinked",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "proveUnlinked",
      args: [parameters.item, parameters.neighbour, parameters.partner],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitmentVoided" });
    return { ...result, removedUnits: args.removedUnits };
  });
}

/**
 * Voids a commitment one of whose leaves has the same input activations as the same microbatch's
 * leaf of a commitment whose upstream link is confirmed, while its own upstream link is not: a
 * copy that names made-up or unrelated neighbours. Every pipeline's data is keyed by its head, so honest commitments never
 * share an input.
 *
 * @example
 * import { proveDuplicate } from "@shardholder/sdk"
 * await proveDuplicate(walletClient, { deployments, copy, original, originalUpstream })
 */
export async function proveDuplicate<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ProveDuplicateParameters<wait>,
): Promise<VoidCommitmentReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "proveDuplicate",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "proveDuplicate",
      args: [parameters.copy, parameters.original, parameters.originalUpstream, [...(parameters.copyUpstream ?? [])]],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitmentVoided" });
    return { ...result, removedUnits: args.removedUnits };
  });
}

export type ProveMisorderedParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** A leaf of the commitment to void. */
    a: LedgerItem;
    /** A leaf of the same commitment at a later slot whose microbatch is not above `a`'s. */
    b: LedgerItem;
  };

/**
 * Voids a commitment whose slots are not in strictly ascending microbatch order: it claims a
 * microbatch twice, or hides which microbatches it does not hold.
 *
 * @example
 * import { proveMisordered } from "@shardholder/sdk"
 * await proveMisordered(walletClient, { deployments, a: ledgerItem({ commitment, tree, index: 2 }), b: ledgerItem({ commitment, tree, index: 3 }) })
 */
export async function proveMisordered<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ProveMisorderedParameters<wait>,
): Promise<VoidCommitmentReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "proveMisordered",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "proveMisordered",
      args: [parameters.a, parameters.b],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitmentVoided" });
    return { ...result, removedUnits: args.removedUnits };
  });
}
