import type { Hex } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerAlreadyCommittedError,
  ComputeLedgerBadItemCountError,
  ComputeLedgerBadStageError,
  ComputeLedgerInvalidSignatureError,
  ComputeLedgerNotServingError,
  ComputeLedgerOutsideCommitWindowError,
  ComputeLedgerWrongWeightsRootError,
} from "../../errors/contractErrors.ts";
import { type AccountRequiredError, InvalidParameterError, type NoDeploymentError } from "../../errors/sdk.ts";
import { type Commitment, compactCommitmentSignature } from "../../protocol/commitment.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  laterTransaction,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type TransactionOverrides,
  type WriteResult,
} from "../internal/client.ts";

/** A commitment with its EIP-712 signature by the worker's signing key. */
export type SignedCommitment = { commitment: Commitment; signature: Hex };

/**
 * Transaction overrides apply to every batch; a `nonce` is the first batch's, later batches take
 * the following nonces. No `wait: false`: a batch is only sent once the previous one succeeded.
 */
export type SubmitCommitmentsParameters = DeploymentsParameter &
  AccountParameter &
  TransactionOverrides & {
    signed: readonly SignedCommitment[];
    /** Commitments per transaction (default 32). Each transaction is all-or-nothing. */
    batchSize?: number | undefined;
  };

export type SubmitCommitmentsReturnType = { batches: WriteResult[]; submitted: number };

export type SubmitCommitmentsErrorType =
  | ComputeLedgerOutsideCommitWindowError
  | ComputeLedgerNotServingError
  | ComputeLedgerInvalidSignatureError
  | ComputeLedgerAlreadyCommittedError
  | ComputeLedgerBadStageError
  | ComputeLedgerBadItemCountError
  | ComputeLedgerWrongWeightsRootError
  | AccountRequiredError
  | NoDeploymentError;

/** Orders commitments by (model, round) so the ledger loads each model's terms once per batch. */
export function orderForBatching(signed: readonly SignedCommitment[]): SignedCommitment[] {
  return [...signed].sort((a, b) => {
    const m = a.commitment.modelId - b.commitment.modelId;
    if (m !== 0n) return m < 0n ? -1 : 1;
    const r = a.commitment.round - b.commitment.round;
    return r === 0n ? 0 : r < 0n ? -1 : 1;
  });
}

/**
 * Submits signed commitments in batches (anyone may relay them: the signature, not the sender,
 * identifies the worker). Signatures are sent in their 64-byte EIP-2098 form (`compactCommitmentSignature`). Batches go out one after the other; the first failing batch throws
 * and later ones are not sent.
 *
 * @example
 * import { signCommitment, submitCommitments } from "@shardholder/sdk"
 * const signature = await signCommitment(signer, { ledger, chainId, commitment })
 * await submitCommitments(walletClient, { deployments, signed: [{ commitment, signature }] })
 */
export async function submitCommitments(
  client: ShardholderClient,
  parameters: SubmitCommitmentsParameters,
): Promise<SubmitCommitmentsReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const batchSize = parameters.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidParameterError({ parameter: "batchSize", reason: `must be a positive integer, got ${batchSize}` });
  const ordered = orderForBatching(parameters.signed);
  const batches: WriteResult[] = [];
  for (let start = 0; start < ordered.length; start += batchSize) {
    const batch = ordered.slice(start, start + batchSize);
    batches.push(
      await sendContractWrite(
        client,
        {
          action: "submitCommitments",
          abi: computeLedgerAbi,
          address: contracts.computeLedger,
          functionName: "submitCommitments",
          // EIP-2098 64-byte signatures: 33 calldata bytes fewer per commitment than the 65-byte form
          args: [batch.map((s) => s.commitment), batch.map((s) => compactCommitmentSignature(s.signature))],
          account: parameters.account,
        },
        laterTransaction(parameters, batches.length),
      ),
    );
  }
  return { batches, submitted: ordered.length };
}
