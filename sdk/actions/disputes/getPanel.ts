import type { ContractFunctionReturnType } from "viem";
import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";

export type GetPanelParameters = DeploymentsParameter & { disputeId: bigint; level: number };

/** The members of one committee level: `{ member, seats, vote }` (vote 0 none, 1 fraud, 2 honest). */
export type GetPanelReturnType = ContractFunctionReturnType<typeof computeLedgerAbi, "view", "panel">;

export type GetPanelErrorType = NoDeploymentError;

/**
 * Reads the committee of one level of a dispute (empty until drawn).
 *
 * @example
 * import { getPanel } from "@shardholder/sdk"
 * const seats = await getPanel(client, { deployments, disputeId: 1n, level: 0 })
 */
export async function getPanel(client: ShardholderClient, parameters: GetPanelParameters): Promise<GetPanelReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "panel",
      args: [parameters.disputeId, parameters.level],
    }),
  );
}
