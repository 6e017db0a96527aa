import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerCommitmentSlashedError,
  ComputeLedgerCommitmentVoidedError,
  ComputeLedgerInvalidProofError,
  ComputeLedgerNotADuplicateError,
  ComputeLedgerNotUnlinkedError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerUnknownCommitmentError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import type { Commitment } from "../../protocol/commitment.ts";
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
    /** The accepted commitment to void, exactly as signed. */
    commitment: Commitment;
    /** The accepted commitment of the neighbour it names, which names `partner` instead. */
    neighbour: Commitment;
    /** The accepted commitment (same stage as `commitment`) of the worker `neighbour` names; it names `neighbour` back. */
    partner: Commitment;
  };

export type ProveDuplicateParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** A leaf of the commitment to void. */
    copy: LedgerItem;
    /** The same-index leaf, with the same input, of a commitment whose upstream link is confirmed. */
    original: LedgerItem;
    /** The accepted commitment of `original.upstream` at stage s-1, naming `original.worker` downstream. */
    originalUpstream: Commitment;
    /**
     * The accepted commitment of `copy.upstream` at stage s-1 when it exists and names another
     * downstream; omit it when that upstream never committed this round (or is `original.upstream`).
     */
    copyUpstream?: Commitment | undefined;
  };

export type VoidCommitmentReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { removedUnits: bigint }, wait>;

export type VoidCommitmentErrorType =
  | ComputeLedgerNotUnlinkedError
  | ComputeLedgerNotADuplicateError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerInvalidProofError
  | ComputeLedgerCommitmentSlashedError
  | ComputeLedgerCommitmentVoidedError
  | ComputeLedgerOutsideChallengeWindowError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Voids a commitment (no reward; its units leave the round) whose named pipeline neighbour is
 * linked to another worker (the neighbour names `partner`, who names it back): what a verbatim copy
 * of someone else's commitment looks like on-chain. A pure proof against three stored digests:
 * anyone may send it during the round's challenge window.
 *
 * @example
 * import { proveUnlinked } from "@shardholder/sdk"
 * await proveUnlinked(walletClient, { deployments, commitment: copy, neighbour: upstream, partner: original })
 */
export async function proveUnlinked<wait extends boolean = true>(client: ShardholderClient, parameters: ProveUnlinkedParameters<wait>): Promise<VoidCommitmentReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(client, {
    action: "proveUnlinked",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "proveUnlinked",
    args: [parameters.commitment, parameters.neighbour, parameters.partner],
    account: parameters.account,
  }, parameters);
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitmentVoided" });
    return { ...result, removedUnits: args.removedUnits };
  });
}

/**
 * Voids a commitment one of whose leaves has the same input activations as the same leaf of a
 * commitment whose upstream link is confirmed, while its own upstream link is not: a copy that
 * names made-up neighbours. Every pipeline's data is keyed by its head, so honest commitments never
 * share an input.
 *
 * @example
 * import { proveDuplicate } from "@shardholder/sdk"
 * await proveDuplicate(walletClient, { deployments, copy, original, originalUpstream })
 */
export async function proveDuplicate<wait extends boolean = true>(client: ShardholderClient, parameters: ProveDuplicateParameters<wait>): Promise<VoidCommitmentReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(client, {
    action: "proveDuplicate",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "proveDuplicate",
    args: [parameters.copy, parameters.original, parameters.originalUpstream, parameters.copyUpstream ? [parameters.copyUpstream] : []],
    account: parameters.account,
  }, parameters);
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitmentVoided" });
    return { ...result, removedUnits: args.removedUnits };
  });
}
