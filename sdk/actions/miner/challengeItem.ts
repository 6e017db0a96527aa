import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerInvalidProofError,
  ComputeLedgerNotEligibleValidatorError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerUnknownCommitmentError,
  ComputeLedgerWrongBondError,
  ComputeLedgerItemAlreadyDisputedError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import type { LedgerItem } from "../validator/ledgerItem.ts";
import { readContract } from "viem/actions";
import {
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  withTypedErrors,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";

export type ChallengeItemParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** The challenged leaf with its commitment coordinates, weights roots and proof (see `ledgerItem`). */
    item: LedgerItem;
  };

export type ChallengeItemReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & {
    disputeId: bigint;
    bondWei: bigint;
    /** The committee is drawn (`drawCommittee`) from the hash of this block, once a later block exists. */
    drawBlock: bigint;
  },
  wait
>;

export type ChallengeItemErrorType =
  | ComputeLedgerOutsideChallengeWindowError
  | ComputeLedgerNotEligibleValidatorError
  | ComputeLedgerWrongBondError
  | ComputeLedgerItemAlreadyDisputedError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerInvalidProofError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Challenges one committed microbatch leaf during the round's challenge window, bonding the
 * model's challenge bond (read from the ledger); a committee drawn later (`drawCommittee`) re-executes and votes.
 * A leaf already under an open dispute fails in simulation with
 * `ComputeLedgerItemAlreadyDisputedError` before any bond is sent.
 *
 * @example
 * import { challengeItem, itemsTree, ledgerItem } from "@shardholder/sdk"
 * const { disputeId } = await challengeItem(walletClient, {
 *   deployments, item: ledgerItem({ commitment, tree: itemsTree(items), index: 3 }),
 * })
 */
export async function challengeItem<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ChallengeItemParameters<wait>,
): Promise<ChallengeItemReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const bondWei = await withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "challengeBondWei",
      args: [parameters.item.modelId],
    }),
  );
  const sent = await sendContractWrite(
    client,
    {
      action: "challengeItem",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "challengeItem",
      args: [parameters.item],
      value: bondWei,
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "DisputeOpened" });
    return { ...result, disputeId: args.disputeId, bondWei, drawBlock: args.drawBlock };
  });
}
