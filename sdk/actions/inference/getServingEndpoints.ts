import type { Address, Hex } from "viem";
import { readContract } from "viem/actions";
import * as directoryAbi from "../../abi/items/servingDirectory.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { getPipelines } from "./getPipelines.ts";

/** A serving pipeline and the endpoint its first operator announced. */
export type ServingEndpoint = {
  /** Base URL of the endpoint (`PUT <url>/inputs`, `GET <url>/outputs/<id>`). */
  url: string;
  pipelineKey: Hex;
  /** The pipeline's first operator: the one that takes prompts and fulfils. */
  entryOperator: Address;
  stageOperators: readonly Address[];
};

export type GetServingEndpointsParameters = DeploymentsParameter & { modelId: bigint };

export type GetServingEndpointsReturnType = {
  /** Serving pipelines whose first operator announced an endpoint, most recently registered first. */
  endpoints: ServingEndpoint[];
  /** How many registered pipelines have every stage operator serving now (with or without an endpoint). */
  servingPipelines: number;
};

export type GetServingEndpointsErrorType = NoDeploymentError;

/**
 * Finds where to send a prompt for `modelId`, from the chain alone: the registered pipelines whose
 * operators all serve now (escrow + ledger), each resolved through the ServingDirectory entry of
 * its first operator. No URL is passed by hand; entries of accounts that serve no pipeline are
 * never read.
 *
 * @example
 * import { getServingEndpoints } from "@shardholder/sdk"
 * const { endpoints } = await getServingEndpoints(client, { deployments, modelId: 1n })
 * console.log(endpoints[0]?.url)
 */
export async function getServingEndpoints(
  client: ShardholderClient,
  parameters: GetServingEndpointsParameters,
): Promise<GetServingEndpointsReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const pipelines = (await getPipelines(client, { deployments: parameters.deployments, modelId: parameters.modelId, checkServing: true }))
    .filter((p) => p.serving && p.stageOperators.length > 0)
    .reverse();
  if (pipelines.length === 0) return { endpoints: [], servingPipelines: 0 };
  const entryOperators = pipelines.map((p) => p.stageOperators[0] as Address);
  const urls = await withTypedErrors(() =>
    readContract(client, {
      abi: [directoryAbi.endpointsOf],
      address: contracts.servingDirectory,
      functionName: "endpointsOf",
      args: [parameters.modelId, entryOperators],
    }),
  );
  const endpoints = pipelines.flatMap((p, i) => {
    const url = urls[i] ?? "";
    return url ? [{ url, pipelineKey: p.pipelineKey, entryOperator: entryOperators[i] as Address, stageOperators: p.stageOperators }] : [];
  });
  return { endpoints, servingPipelines: pipelines.length };
}
