import type { Address } from "viem";
import { readContract } from "viem/actions";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";

export type GetValidatorStageParameters = DeploymentsParameter & { account: Address };

/** The stage an account validates, or `undefined` when it never opted in to one. */
export type GetValidatorStageReturnType = { modelId: bigint; stage: number; active: boolean } | undefined;

export type GetValidatorStageErrorType = NoDeploymentError;

/**
 * Which stage of which model `account` validates (or last validated) and whether it is an active
 * validator there now (opted in, not unbonding, not jailed, stake > 0). Validators hold one stage
 * at a time (docs/PROTOCOL.md "Stages").
 *
 * @example
 * import { getValidatorStage } from "@shardholder/sdk"
 * const seat = await getValidatorStage(client, { deployments, account })
 * if (seat?.active) console.log(`validates stage ${seat.stage} of model ${seat.modelId}`)
 */
export async function getValidatorStage(
  client: ShardholderClient,
  parameters: GetValidatorStageParameters,
): Promise<GetValidatorStageReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const [modelId, stage, active] = await withTypedErrors(() =>
    readContract(client, {
      abi: [ledgerAbi.validatorStage],
      address: contracts.computeLedger,
      functionName: "validatorStage",
      args: [parameters.account],
    }),
  );
  // The ledger answers all zeros for an account that never opted in (model ids start at 1).
  return modelId === 0n ? undefined : { modelId, stage, active };
}
