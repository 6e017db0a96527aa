import * as directoryAbi from "../../abi/items/servingDirectory.ts";
import type {
  ServingDirectoryEmptyUrlError,
  ServingDirectoryNoEndpointError,
  ServingDirectoryUnknownModelError,
  ServingDirectoryUrlTooLongError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteParameters,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";

export type AnnounceEndpointParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    modelId: bigint;
    /** Base URL of the operator's serving endpoint (`PUT <url>/inputs`, `GET <url>/outputs/<id>`), at most 256 bytes. */
    url: string;
  };

export type AnnounceEndpointErrorType =
  | ServingDirectoryUnknownModelError
  | ServingDirectoryEmptyUrlError
  | ServingDirectoryUrlTooLongError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Announces in the ServingDirectory, signed by the operator's own key, where it serves `modelId`,
 * replacing its earlier entry. `infer` looks up the first operator of each serving pipeline there.
 *
 * @example
 * import { announceEndpoint } from "@shardholder/sdk"
 * await announceEndpoint(operatorWallet, { deployments, modelId: 1n, url: "https://op.example/shardholder" })
 */
export async function announceEndpoint<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: AnnounceEndpointParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "announceEndpoint",
      abi: [directoryAbi.announceEndpoint],
      address: contracts.servingDirectory,
      functionName: "announceEndpoint",
      args: [parameters.modelId, parameters.url],
      account: parameters.account,
    },
    parameters,
  );
}

export type WithdrawEndpointParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { modelId: bigint };

export type WithdrawEndpointErrorType = ServingDirectoryNoEndpointError | AccountRequiredError | NoDeploymentError;

/**
 * Removes the operator's endpoint for `modelId` from the ServingDirectory (e.g. before going offline).
 *
 * @example
 * import { withdrawEndpoint } from "@shardholder/sdk"
 * await withdrawEndpoint(operatorWallet, { deployments, modelId: 1n })
 */
export async function withdrawEndpoint<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: WithdrawEndpointParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "withdrawEndpoint",
      abi: [directoryAbi.withdrawEndpoint],
      address: contracts.servingDirectory,
      functionName: "withdrawEndpoint",
      args: [parameters.modelId],
      account: parameters.account,
    },
    parameters,
  );
}
