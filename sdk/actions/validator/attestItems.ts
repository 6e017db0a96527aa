import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerAlreadyAttestedError,
  ComputeLedgerBadAttestBatchError,
  ComputeLedgerMixedRoundsError,
  ComputeLedgerNotEligibleValidatorError,
  ComputeLedgerNotSampledError,
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
import { receiptEvents } from "../internal/events.ts";
import type { LedgerItem } from "./ledgerItem.ts";

/** One attestation: the re-executed leaf and the draw of the caller's sample that hit it. */
export type Attestation = { item: LedgerItem; draw: number };

export type AttestItemsParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { attestations: readonly Attestation[] };

export type AttestItemsReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { attested: number; units: bigint }, wait>;

export type AttestItemsErrorType =
  | ComputeLedgerBadAttestBatchError
  | ComputeLedgerMixedRoundsError
  | ComputeLedgerNotSampledError
  | ComputeLedgerAlreadyAttestedError
  | ComputeLedgerNotEligibleValidatorError
  | ComputeLedgerOutsideChallengeWindowError
  | ComputeLedgerUnknownCommitmentError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Records, in one transaction, the caller's attestations of sampled items it re-executed and found
 * honest (one model and round; challenge window only). Each item must be hit by one of the
 * caller's attestable draws (`attestationSample`); the ledger pays the validators' share of the
 * round pro rata to attested units after finalization (`mintValidatorReward`).
 *
 * @example
 * import { attestItems, ledgerItem } from "@shardholder/sdk"
 * await attestItems(walletClient, { deployments, attestations: [{ item: ledgerItem({ commitment, tree, index }), draw: 0 }] })
 */
export async function attestItems<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: AttestItemsParameters<wait>,
): Promise<AttestItemsReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "attestItems",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "attestItems",
      args: [parameters.attestations.map((a) => a.item), parameters.attestations.map((a) => a.draw)],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const logs = receiptEvents(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "ItemAttested" });
    return { ...result, attested: logs.length, units: logs.reduce((t, l) => t + l.args.units, 0n) };
  });
}
