import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerInvalidProofError,
  ComputeLedgerNotAChainBreakError,
  ComputeLedgerNotEligibleValidatorError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerUnknownCommitmentError,
  ComputeLedgerWrongBondError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import type { LedgerItem } from "../validator/ledgerItem.ts";
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
import { readContract } from "viem/actions";
import { receiptEvent } from "../internal/events.ts";

export type ChallengeChainBreakParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** Stage s's leaf of the microbatch. */
    upstream: LedgerItem;
    /** Stage s+1's leaf of the same round and microbatch index. */
    downstream: LedgerItem;
  };

export type ChallengeChainBreakReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { disputeId: bigint; bondWei: bigint; drawBlock: bigint },
  wait
>;

export type ChallengeChainBreakErrorType =
  | ComputeLedgerNotAChainBreakError
  | ComputeLedgerOutsideChallengeWindowError
  | ComputeLedgerNotEligibleValidatorError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerInvalidProofError
  | ComputeLedgerWrongBondError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Proves a hash-chain break between stage s and s+1 (verified on-chain) and opens a dispute, bonding
 * the model's challenge bond (refunded with any verdict but a dismissal); a committee drawn later
 * (`drawCommittee`) decides which side is at fault.
 *
 * @example
 * import { challengeChainBreak } from "@shardholder/sdk"
 * const { disputeId } = await challengeChainBreak(walletClient, { deployments, upstream, downstream })
 */
export async function challengeChainBreak<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ChallengeChainBreakParameters<wait>,
): Promise<ChallengeChainBreakReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const bondWei = await withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "challengeBondWei",
      args: [parameters.upstream.modelId],
    }),
  );
  const sent = await sendContractWrite(
    client,
    {
      action: "challengeChainBreak",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "challengeChainBreak",
      args: [parameters.upstream, parameters.downstream],
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
