import type { Address, Hex } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerInvalidProofError,
  ComputeLedgerInvalidReceiptSignatureError,
  ComputeLedgerNotABeneficiaryError,
  ComputeLedgerNotAnEquivocationError,
  ComputeLedgerNotEligibleValidatorError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerUnknownCommitmentError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import type { LinkReceipt } from "../../protocol/linkReceipt.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteParameters,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvents } from "../internal/events.ts";
import type { LedgerItem } from "./ledgerItem.ts";

export type ProveLinkEquivocationParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** The accused's leaf of a microbatch the receipt lists, naming someone other than the receipt's other end. */
    liar: LedgerItem;
    /** The receipt the accused signed. */
    receipt: LinkReceipt;
    /** The accused's signature of `receipt` (65 or 64 bytes). */
    signature: Hex;
    /** The leaf of that microbatch of the worker the lie names instead, naming the liar back: voided too. */
    beneficiary?: LedgerItem | undefined;
  };

export type ProveLinkEquivocationReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & {
    /** The commitment the lie had voided, counted again (undefined when it was not voided through the liar). */
    restored: { worker: Address; stage: number; units: bigint } | undefined;
    /** Units of the beneficiary's commitment that left the round (0n when none was voided). */
    beneficiaryRemovedUnits: bigint;
  },
  wait
>;

export type ProveLinkEquivocationErrorType =
  | ComputeLedgerNotAnEquivocationError
  | ComputeLedgerInvalidReceiptSignatureError
  | ComputeLedgerNotABeneficiaryError
  | ComputeLedgerNotEligibleValidatorError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerInvalidProofError
  | ComputeLedgerOutsideChallengeWindowError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Slashes a worker whose committed leaf contradicts a link receipt it signed (docs/PROTOCOL.md "Link
 * receipts"): the receipt lists the leaf's microbatch as exchanged with its other end, and the leaf
 * names someone else. Restores the other end's commitment if the lie voided it, and voids the
 * `beneficiary` the lie named. Anyone but the liar may send it during the round's challenge window;
 * the sender is credited the winner's share of the slash.
 *
 * @example
 * import { proveLinkEquivocation } from "@shardholder/sdk"
 * await proveLinkEquivocation(walletClient, { deployments, liar: upstreamLeaf, receipt, signature, beneficiary: copyLeaf })
 */
export async function proveLinkEquivocation<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ProveLinkEquivocationParameters<wait>,
): Promise<ProveLinkEquivocationReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "proveLinkEquivocation",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "proveLinkEquivocation",
      args: [parameters.liar, parameters.receipt, parameters.signature, parameters.beneficiary ? [parameters.beneficiary] : []],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const at = { abi: computeLedgerAbi, address: contracts.computeLedger } as const;
    const restored = receiptEvents(result, { ...at, eventName: "CommitmentRestored" })[0]?.args;
    const voided = receiptEvents(result, { ...at, eventName: "CommitmentVoided" })[0]?.args;
    return {
      ...result,
      restored: restored ? { worker: restored.worker, stage: restored.stage, units: restored.restoredUnits } : undefined,
      beneficiaryRemovedUnits: voided?.removedUnits ?? 0n,
    };
  });
}
