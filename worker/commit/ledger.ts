import type { Account, Address, Hex } from "viem";
import { getTransactionCount, getTransactionReceipt, waitForTransactionReceipt } from "viem/actions";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { submitCommitments, type SignedCommitment } from "../../sdk/actions/miner/submitCommitments.ts";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import type { DeploymentsSource } from "../../sdk/deployments/types.ts";
import { TransactionRevertedError } from "../../sdk/errors/sdk.ts";
import type { Commitment } from "../../sdk/protocol/index.ts";

/** Outcome of a mined batch transaction. */
export type MinedOutcome = { txHash: Hex; status: "success" | "reverted"; blockNumber?: bigint | undefined };

/**
 * What the submitter needs from the chain. The production implementation is
 * {@link sdkCommitmentLedger} (all calls through the SDK); tests may serve the same contract from
 * another process to survive the worker's `kill -9`.
 */
export interface CommitmentLedger {
  /** The account that sends the transactions (pays gas; any relayer may). */
  readonly sender: Address;
  /** The sender's nonce counting mined transactions (`latest`) or also the mempool (`pending`). */
  nonce(tag: "latest" | "pending"): Promise<number>;
  /** True when the ledger already stores this commitment's `(modelId, round, stage, worker)`. */
  isStored(commitment: Commitment): Promise<boolean>;
  /** True once the chain is past `round`'s commit window: the ledger refuses its commitments for good. */
  commitWindowClosed(modelId: bigint, round: bigint): Promise<boolean>;
  /**
   * Sends the batch as one transaction and waits until it is mined. Throws without sending when
   * the pre-flight simulation reverts. `onSent` fires once the node accepted the transaction.
   */
  submit(batch: readonly SignedCommitment[], hooks?: { onSent?: (txHash: Hex) => Promise<void> }): Promise<MinedOutcome>;
  /** The receipt of an earlier transaction, waiting up to `timeoutMs`; `undefined` when not mined. */
  receipt(txHash: Hex, timeoutMs: number): Promise<MinedOutcome | undefined>;
}

/**
 * The {@link CommitmentLedger} of the ComputeLedger in `deployments`, through the SDK's
 * `getCommitment` and `submitCommitments` actions.
 *
 * @example
 * const ledger = sdkCommitmentLedger(walletClient, { deployments, account })
 */
export function sdkCommitmentLedger(
  client: ShardholderClient,
  { deployments, account }: { deployments: DeploymentsSource; account: Account },
): CommitmentLedger {
  return {
    sender: account.address,
    nonce: (blockTag) => getTransactionCount(client, { address: account.address, blockTag }),
    isStored: async (c) => {
      const record = await getCommitment(client, { deployments, modelId: c.modelId, round: c.round, stage: c.stage, worker: c.worker });
      return record.found;
    },
    commitWindowClosed: async (modelId, round) => (await getCurrentRound(client, { deployments, modelId })) > round,
    submit: async (batch) => {
      try {
        const { batches } = await submitCommitments(client, { deployments, account, signed: batch, batchSize: batch.length });
        const mined = batches[0];
        if (!mined) throw new Error("submitCommitments sent no transaction");
        return { txHash: mined.transactionHash, status: mined.receipt.status, blockNumber: mined.receipt.blockNumber };
      } catch (err) {
        if (err instanceof TransactionRevertedError) return { txHash: err.transactionHash, status: "reverted" };
        throw err;
      }
    },
    receipt: async (txHash, timeoutMs) => {
      try {
        const r = await getTransactionReceipt(client, { hash: txHash }).catch(() =>
          waitForTransactionReceipt(client, { hash: txHash, timeout: timeoutMs }),
        );
        return { txHash, status: r.status, blockNumber: r.blockNumber };
      } catch {
        return undefined;
      }
    },
  };
}
