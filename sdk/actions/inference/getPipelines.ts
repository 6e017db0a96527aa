import { type Address, type Hex, isAddressEqual } from "viem";
import { readContract } from "viem/actions";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { scanEvents, scanRange } from "../internal/scan.ts";

/** A registered pipeline, as its `PipelineRegistered` event has it. */
export type Pipeline = {
  pipelineKey: Hex;
  modelId: bigint;
  /** One operator per stage, in stage order; each consented to the pipeline. */
  stageOperators: readonly Address[];
  blockNumber: bigint;
  /** Whether every stage operator is a serving operator of the model now (set when `checkServing`). */
  serving?: boolean | undefined;
};

export type GetPipelinesParameters = DeploymentsParameter & {
  /** Only pipelines of this model. */
  modelId?: bigint | undefined;
  /** Only pipelines this account is a stage operator of. */
  operator?: Address | undefined;
  /** Only this pipeline. */
  pipelineKey?: Hex | undefined;
  /** Also ask the ledger whether every operator is serving now (one read per pipeline). */
  checkServing?: boolean | undefined;
};

export type GetPipelinesReturnType = Pipeline[];

export type GetPipelinesErrorType = NoDeploymentError;

/**
 * The registered pipelines (ordered stage operators that may fulfil requests naming them), oldest
 * first, read from the escrow's `PipelineRegistered` events.
 *
 * @example
 * import { getPipelines } from "@shardholder/sdk"
 * const pipelines = await getPipelines(client, { deployments, modelId: 1n, checkServing: true })
 */
export async function getPipelines(client: ShardholderClient, parameters: GetPipelinesParameters): Promise<GetPipelinesReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(async () => {
    const logs = await scanEvents(client, {
      abi: [escrowAbi.PipelineRegistered],
      address: contracts.inferenceEscrow,
      eventName: "PipelineRegistered",
      args: { modelId: parameters.modelId, pipelineKey: parameters.pipelineKey },
      range: scanRange(deployedAtBlock, {}),
    });
    const { operator } = parameters;
    const pipelines: Pipeline[] = logs
      .filter((l) => operator === undefined || l.args.stageOperators.some((op) => isAddressEqual(op, operator)))
      .map((l) => ({
        pipelineKey: l.args.pipelineKey,
        modelId: l.args.modelId,
        stageOperators: l.args.stageOperators,
        blockNumber: l.blockNumber,
      }));
    if (!parameters.checkServing) return pipelines;
    return Promise.all(
      pipelines.map(async (p) => {
        const [first] = p.stageOperators;
        if (first === undefined) return { ...p, serving: false };
        const [found] = await readContract(client, {
          abi: [ledgerAbi.findNonServingOperator],
          address: contracts.computeLedger,
          functionName: "findNonServingOperator",
          args: [p.modelId, first, p.stageOperators],
        });
        return { ...p, serving: !found };
      }),
    );
  });
}
