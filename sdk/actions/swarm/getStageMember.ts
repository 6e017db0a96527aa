import type { Address } from "viem";
import { readContract } from "viem/actions";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { getPeerRecord } from "./getPeerRecord.ts";
import type { StageMember } from "./getStageMembers.ts";

export type GetStageMemberParameters = DeploymentsParameter & { modelId: bigint; account: Address };

export type GetStageMemberReturnType = StageMember & { stage: number };

export type GetStageMemberErrorType = NoDeploymentError;

/**
 * `account` as a member of its stage of `modelId`, or `undefined`: it must have a peer record in
 * the StageDirectory and qualify now by the ledger's word (a serving miner of the model, or an
 * active validator of that very stage), the same rule as {@link getStageMembers}, for one account.
 * What a miner checks before serving a stage's weights, and a stage before accepting a link.
 *
 * @example
 * import { getStageMember } from "@shardholder/sdk"
 * const member = await getStageMember(client, { deployments, modelId: 1n, account: "0x…" })
 * if (member?.stage === 0) console.log(`${member.role} of stage 0 at ${member.multiaddrs[0]}`)
 */
export async function getStageMember(
  client: ShardholderClient,
  parameters: GetStageMemberParameters,
): Promise<GetStageMemberReturnType | undefined> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const { modelId, account } = parameters;
  const record = await getPeerRecord(client, parameters);
  if (!record) return undefined;
  const ledger = { abi: [ledgerAbi.isServingOperator, ledgerAbi.validatorStage], address: contracts.computeLedger } as const;
  const [serving, [validatorModel, validatorStage, active]] = await withTypedErrors(() =>
    Promise.all([
      readContract(client, { ...ledger, functionName: "isServingOperator", args: [modelId, account] }),
      readContract(client, { ...ledger, functionName: "validatorStage", args: [account] }),
    ]),
  );
  const validator = active && validatorModel === modelId && validatorStage === record.stage;
  if (!serving && !validator) return undefined;
  return {
    account,
    role: validator ? "validator" : "miner",
    peerId: record.peerId,
    multiaddrs: record.multiaddrs,
    announcedAt: record.announcedAt,
    stage: record.stage,
  };
}
