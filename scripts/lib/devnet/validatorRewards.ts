// The validators' side of the ledger for the summary: items attested on-chain per round and the
// validator emission share minted for them. The validator mints its own reward once a round is
// final; whatever it left (it stops after its last audit, before that round is final) the devnet
// mints after the validator has stopped, so the two never race for the same mint.
import type { Address, PublicClient, WalletClient } from "viem";
import { getAttestations } from "../../../sdk/actions/validator/getAttestations.ts";
import { getValidatorRewardMints } from "../../../sdk/actions/validator/getValidatorRewardMints.ts";
import { getValidatorRound } from "../../../sdk/actions/validator/getValidatorRound.ts";
import { mintValidatorReward } from "../../../sdk/actions/validator/mintValidatorReward.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";

/** One validator's attestations of one round and the tokens minted for them. */
export type ValidatorRoundReward = {
  round: bigint;
  validator: Address;
  payout: Address | undefined;
  /** Items attested on-chain (`ItemAttested` events). */
  attestedItems: number;
  /** Attested compute units (the reward's weight). */
  units: bigint;
  /** Model tokens minted to the payout address (0 until minted). */
  tokens: bigint;
  /** Who sent the mint: the validator itself, or the devnet after the validator stopped. */
  mintedBy: "validator" | "devnet" | "none";
  /** Gas of the mint transaction, whoever sent it. */
  mintGas: bigint | undefined;
};

/**
 * Mints every unminted validator reward of `rounds` for `validator` (anyone may), then reads the
 * attestation and mint events of the model. Call only after the validator process stopped.
 */
export async function settleValidatorRewards(p: {
  client: PublicClient;
  relayer: WalletClient;
  deployments: Deployments;
  modelId: bigint;
  rounds: readonly bigint[];
  validator: Address;
}): Promise<ValidatorRoundReward[]> {
  const { client, deployments, modelId, validator } = p;
  const mintedByDevnet = new Map<bigint, bigint>();
  for (const round of p.rounds) {
    const mine = await getValidatorRound(client, { deployments, modelId, round, validator });
    if (mine.units === 0n || mine.minted || mine.forfeited) continue;
    const r = await mintValidatorReward(p.relayer, { deployments, modelId, round, validator });
    mintedByDevnet.set(round, r.receipt.gasUsed);
  }
  const [attested, minted] = await Promise.all([
    getAttestations(client, { deployments, modelId, validator }),
    getValidatorRewardMints(client, { deployments, modelId, validator }),
  ]);
  const gasOf = new Map<string, bigint>();
  for (const m of minted) gasOf.set(m.transactionHash, (await client.getTransactionReceipt({ hash: m.transactionHash })).gasUsed);
  return p.rounds.map((round) => {
    const items = attested.filter((a) => a.round === round);
    const mint = minted.find((m) => m.round === round);
    return {
      round,
      validator,
      payout: mint?.payout,
      attestedItems: items.length,
      units: items.reduce((t, a) => t + a.units, 0n),
      tokens: mint?.tokens ?? 0n,
      mintedBy: mint ? (mintedByDevnet.has(round) ? "devnet" : "validator") : "none",
      mintGas: mint ? gasOf.get(mint.transactionHash) : undefined,
    };
  });
}
