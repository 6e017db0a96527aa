// Miner: stake with a separate payout address and signing key, then sign and relay a round commitment.
import type { Account, Address, Chain, Client, LocalAccount, Transport } from "viem";
import { type Commitment, type DeploymentsSource, shardholderActions } from "../index.ts";

export async function runMiner(
  wallet: Client<Transport, Chain, Account>,
  deployments: DeploymentsSource,
  { modelId, payout, signer, commitment }: { modelId: bigint; payout: Address; signer: LocalAccount; commitment: Commitment },
) {
  const client = wallet.extend(shardholderActions({ deployments }));
  const model = await client.getModel({ modelId });
  await client.stake({ payout, signingKey: signer.address, valueWei: model.minWorkerStakeWei });
  const signed = await client.signRoundCommitment({ commitment, signer });
  await client.submitCommitments({ signed: [signed] });
  return client.getCommitment({ modelId, round: commitment.round, stage: commitment.stage, worker: commitment.worker });
}
