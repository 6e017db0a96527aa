import type { Hex } from "viem";
import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerOutsideChallengeWindowError } from "../../errors/contractErrors.ts";
import { type AccountRequiredError, type NoDeploymentError, SeedNotSealedError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  laterTransaction,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type TransactionOverrides,
  withTypedErrors,
} from "../internal/client.ts";

/**
 * Transaction overrides apply to each sealing transaction; a `nonce` is the first one's, the next
 * takes the following nonce. No `wait: false`: the second transaction needs the first one mined.
 */
export type SealRoundSeedParameters = DeploymentsParameter & AccountParameter & TransactionOverrides & { modelId: bigint; round: bigint };

export type SealRoundSeedReturnType = { seed: Hex; sealedNow: boolean };

export type SealRoundSeedErrorType =
  ComputeLedgerOutsideChallengeWindowError | SeedNotSealedError | AccountRequiredError | NoDeploymentError;

/**
 * Returns the round's attestation seed, sealing it first if nobody has (only inside the round's
 * challenge window). Sealing takes two transactions: the first names its own block, the next one
 * (in any later block) seals the seed from that block's hash, so no miner knew it when committing
 * and no caller could pick it.
 *
 * @example
 * import { sealRoundSeed } from "@shardholder/sdk"
 * const { seed } = await sealRoundSeed(walletClient, { deployments, modelId: 1n, round: 0n })
 */
export async function sealRoundSeed(client: ShardholderClient, parameters: SealRoundSeedParameters): Promise<SealRoundSeedReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const read = () =>
    withTypedErrors(() =>
      readContract(client, {
        abi: computeLedgerAbi,
        address: contracts.computeLedger,
        functionName: "roundSeed",
        args: [parameters.modelId, parameters.round],
      }),
    );
  const existing = await read();
  if (BigInt(existing) !== 0n) return { seed: existing, sealedNow: false };
  // The first call names its own block; a second transaction always lands in a later block,
  // where the named block's hash is known and seals the seed (a third only if that hash was gone).
  for (let attempt = 0; attempt < 3; attempt++) {
    await sendContractWrite(
      client,
      {
        action: "sealRoundSeed",
        abi: computeLedgerAbi,
        address: contracts.computeLedger,
        functionName: "sealRoundSeed",
        args: [parameters.modelId, parameters.round],
        account: parameters.account,
        simulateOn: "pending",
      },
      laterTransaction(parameters, attempt),
    );
    const seed = await read();
    if (BigInt(seed) !== 0n) return { seed, sealedNow: true };
  }
  throw new SeedNotSealedError({ modelId: parameters.modelId, round: parameters.round });
}
