import type { Address, ContractFunctionReturnType } from "viem";
import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";

export type GetValidatorRoundParameters = DeploymentsParameter & { modelId: bigint; round: bigint; validator: Address };

export type GetValidatorRoundReturnType = ContractFunctionReturnType<typeof computeLedgerAbi, "view", "validatorRound"> & {
  /** The round's sealed attestation seed (zero until sealed). */
  seed: `0x${string}`;
};

export type GetValidatorRoundErrorType = NoDeploymentError;

/**
 * Reads a validator's attestations of a round: attested units, whether it minted or forfeited
 * its reward, and the round's attestation seed.
 *
 * @example
 * import { getValidatorRound } from "@shardholder/sdk"
 * const { units, minted } = await getValidatorRound(client, { deployments, modelId: 1n, round: 0n, validator })
 */
export async function getValidatorRound(
  client: ShardholderClient,
  parameters: GetValidatorRoundParameters,
): Promise<GetValidatorRoundReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const address = contracts.computeLedger;
  const [record, seed] = await withTypedErrors(() =>
    Promise.all([
      readContract(client, {
        abi: computeLedgerAbi,
        address,
        functionName: "validatorRound",
        args: [parameters.modelId, parameters.round, parameters.validator],
      }),
      readContract(client, { abi: computeLedgerAbi, address, functionName: "roundSeed", args: [parameters.modelId, parameters.round] }),
    ]),
  );
  return { ...record, seed };
}
