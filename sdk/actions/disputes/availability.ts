import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerAvailabilityAlreadyChallengedError,
  ComputeLedgerAvailabilityNotOpenError,
  ComputeLedgerLeafIndexOutOfRangeError,
  ComputeLedgerNotEligibleValidatorError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerResponseWindowClosedError,
  ComputeLedgerResponseWindowOpenError,
  ComputeLedgerRevealMismatchError,
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
import { receiptEvent } from "../internal/events.ts";

export type ChallengeAvailabilityParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { modelId: bigint; round: bigint; stage: number; worker: `0x${string}`; index: number };

export type ChallengeAvailabilityReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { challengeId: bigint; bondWei: bigint; deadline: number },
  wait
>;

export type ChallengeAvailabilityErrorType =
  | ComputeLedgerOutsideChallengeWindowError
  | ComputeLedgerNotEligibleValidatorError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerLeafIndexOutOfRangeError
  | ComputeLedgerAvailabilityAlreadyChallengedError
  | ComputeLedgerWrongBondError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Demands leaf `index` (< the commitment's `itemCount`) of a worker's commitment on-chain, bonding
 * `availabilityBondWei`: the worker must `revealItem` before the deadline or be slashed by
 * `slashUnavailable`. Use it when the leaf is not served off-chain within the audit deadline.
 *
 * @example
 * import { challengeAvailability } from "@shardholder/sdk"
 * const { challengeId } = await challengeAvailability(walletClient, { deployments, modelId: 1n, round: 4n, stage: 1, worker, index: 2 })
 */
export async function challengeAvailability<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ChallengeAvailabilityParameters<wait>,
): Promise<ChallengeAvailabilityReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const bondWei = await withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "availabilityBondWei",
      args: [parameters.modelId],
    }),
  );
  const sent = await sendContractWrite(
    client,
    {
      action: "challengeAvailability",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "challengeAvailability",
      args: [parameters.modelId, parameters.round, parameters.stage, parameters.worker, parameters.index],
      value: bondWei,
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "AvailabilityChallenged" });
    return { ...result, challengeId: args.challengeId, bondWei, deadline: args.deadline };
  });
}

export type RevealItemParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { challengeId: bigint; item: LedgerItem };

export type RevealItemErrorType =
  | ComputeLedgerAvailabilityNotOpenError
  | ComputeLedgerResponseWindowClosedError
  | ComputeLedgerRevealMismatchError
  | ComputeLedgerUnknownCommitmentError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Answers an availability challenge with the demanded leaf and its proof (see `ledgerItem`); the
 * challenger's bond is credited to the worker.
 *
 * @example
 * import { revealItem, ledgerItem, itemsTree } from "@shardholder/sdk"
 * await revealItem(walletClient, { deployments, challengeId, item: ledgerItem({ commitment, tree: itemsTree(items), index }) })
 */
export async function revealItem<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: RevealItemParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "revealItem",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "revealItem",
      args: [parameters.challengeId, parameters.item],
      account: parameters.account,
    },
    parameters,
  );
}

export type SlashUnavailableParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { challengeId: bigint };

export type SlashUnavailableErrorType =
  ComputeLedgerAvailabilityNotOpenError | ComputeLedgerResponseWindowOpenError | AccountRequiredError | NoDeploymentError;

/**
 * Slashes the worker of an availability challenge nobody answered before its deadline (anyone may).
 *
 * @example
 * import { slashUnavailable } from "@shardholder/sdk"
 * await slashUnavailable(walletClient, { deployments, challengeId })
 */
export async function slashUnavailable<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: SlashUnavailableParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "slashUnavailable",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "slashUnavailable",
      args: [parameters.challengeId],
      account: parameters.account,
    },
    parameters,
  );
}
