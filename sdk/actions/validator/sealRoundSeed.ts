import type { Hex } from "viem";
import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerOutsideChallengeWindowError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  withTypedErrors,
} from "../internal/client.ts";

export type SealRoundSeedParameters = DeploymentsParameter & AccountParameter & { modelId: bigint; round: bigint };

export type SealRoundSeedReturnType = { seed: Hex; sealedNow: boolean };

export type SealRoundSeedErrorType = ComputeLedgerOutsideChallengeWindowError | AccountRequiredError | NoDeploymentError;

/**
 * Returns the round's attestation seed, sealing it first if nobody has (only inside the round's
 * challenge window; the seed comes from the sealing block, so no miner knew it when committing).
 *
 * @example
 * import { sealRoundSeed } from "shardholder/sdk"
 * const { seed } = await sealRoundSeed(walletClient, { deployments, modelId: 1n, round: 0n })
 */
export async function sealRoundSeed(client: ShardholderClient, parameters: SealRoundSeedParameters): Promise<SealRoundSeedReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const read = () =>
    withTypedErrors(() =>
      readContract(client, { abi: computeLedgerAbi, address: contracts.computeLedger, functionName: "roundSeed", args: [parameters.modelId, parameters.round] }),
    );
  const existing = await read();
  if (BigInt(existing) !== 0n) return { seed: existing, sealedNow: false };
  await sendContractWrite(client, {
    action: "sealRoundSeed",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "sealRoundSeed",
    args: [parameters.modelId, parameters.round],
    account: parameters.account,
  });
  return { seed: await read(), sealedNow: true };
}
