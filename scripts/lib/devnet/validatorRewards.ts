// The validators' side of the ledger for the summary: items attested on-chain per round and the
// validator emission share minted for them. The validator mints its own reward once a round is
// final; whatever it left (it stops after its last audit, before that round is final) the devnet
// mints after the validator has stopped, so the two never race for the same mint.
import type { Address, PublicClient, WalletClient } from "viem";
import { getContractEvents } from "viem/actions";
import { computeLedgerAbi } from "../../../sdk/abi/computeLedger.ts";
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
  const ledger = { abi: computeLedgerAbi, address: deployments.contracts.computeLedger, fromBlock: BigInt(deployments.deployedAtBlock), strict: true } as const;
  const [attested, minted] = await Promise.all([
    getContractEvents(client, { ...ledger, eventName: "ItemAttested", args: { modelId, validator } }),
    getContractEvents(client, { ...ledger, eventName: "ValidatorRewardMinted", args: { modelId, validator } }),
  ]);
  const gasOf = new Map<string, bigint>();
  for (const l of minted) gasOf.set(l.transactionHash, (await client.getTransactionReceipt({ hash: l.transactionHash })).gasUsed);
  return p.rounds.map((round) => {
    const items = attested.filter((l) => l.args.round === round);
    const mint = minted.find((l) => l.args.round === round);
    return {
      round,
      validator,
      payout: mint?.args.payout,
      attestedItems: items.length,
      units: items.reduce((a, l) => a + l.args.units, 0n),
      tokens: mint?.args.tokens ?? 0n,
      mintedBy: mint ? (mintedByDevnet.has(round) ? "devnet" : "validator") : "none",
      mintGas: mint ? gasOf.get(mint.transactionHash) : undefined,
    };
  });
}
