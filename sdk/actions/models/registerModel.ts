import type { Address, ContractFunctionArgs } from "viem";
import { modelRegistryAbi } from "../../abi/modelRegistry.ts";
import type {
  ModelRegistryFeeSplitTooHighError,
  ModelRegistryInvalidStageCountError,
  ModelRegistryProtocolFeeTooHighError,
  ModelRegistryStageLengthMismatchError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";

/** Everything a designer registers (the registry's `ModelSpec`); economic fields are immutable. */
export type ModelSpec = ContractFunctionArgs<typeof modelRegistryAbi, "nonpayable", "registerModel">[0];

export type RegisterModelParameters = DeploymentsParameter & AccountParameter & { spec: ModelSpec };

export type RegisterModelReturnType = WriteResult & { modelId: bigint; token: Address };

export type RegisterModelErrorType =
  | ModelRegistryInvalidStageCountError
  | ModelRegistryStageLengthMismatchError
  | ModelRegistryProtocolFeeTooHighError
  | ModelRegistryFeeSplitTooHighError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Registers a model (the sender becomes its designer) and deploys its token; returns the new
 * model id and token address. Every registry validation error is typed (`ModelRegistry*Error`).
 *
 * @example
 * import { registerModel } from "shardholder/sdk"
 * const { modelId, token } = await registerModel(walletClient, { deployments, spec })
 */
export async function registerModel(client: ShardholderClient, parameters: RegisterModelParameters): Promise<RegisterModelReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const result = await sendContractWrite(client, {
    action: "registerModel",
    abi: modelRegistryAbi,
    address: contracts.modelRegistry,
    functionName: "registerModel",
    args: [parameters.spec],
    account: parameters.account,
  });
  const { args } = receiptEvent(result, { abi: modelRegistryAbi, address: contracts.modelRegistry, eventName: "ModelRegistered" });
  return { ...result, modelId: args.modelId, token: args.token };
}
