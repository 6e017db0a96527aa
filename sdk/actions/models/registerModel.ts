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
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";

/** Everything a designer registers (the registry's `ModelSpec`); economic fields are immutable. */
export type ModelSpec = ContractFunctionArgs<typeof modelRegistryAbi, "nonpayable", "registerModel">[0];

export type RegisterModelParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { spec: ModelSpec };

export type RegisterModelReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { modelId: bigint; token: Address }, wait>;

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
 * import { registerModel } from "@shardholder/sdk"
 * const { modelId, token } = await registerModel(walletClient, { deployments, spec })
 */
export async function registerModel<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: RegisterModelParameters<wait>,
): Promise<RegisterModelReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "registerModel",
      abi: modelRegistryAbi,
      address: contracts.modelRegistry,
      functionName: "registerModel",
      args: [parameters.spec],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: modelRegistryAbi, address: contracts.modelRegistry, eventName: "ModelRegistered" });
    return { ...result, modelId: args.modelId, token: args.token };
  });
}
