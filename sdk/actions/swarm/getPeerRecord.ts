import type { Address } from "viem";
import { readContract } from "viem/actions";
import * as directoryAbi from "../../abi/items/stageDirectory.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { type PeerRecord, peerRecordOf } from "./peerRecord.ts";

export type { PeerRecord } from "./peerRecord.ts";

export type GetPeerRecordParameters = DeploymentsParameter & { modelId: bigint; account: Address };

export type GetPeerRecordReturnType = PeerRecord | undefined;

export type GetPeerRecordErrorType = NoDeploymentError;

/**
 * `account`'s peer record for `modelId` in the StageDirectory, or `undefined` when it has none.
 * The record says what was published, not whether the account still qualifies: that is the
 * ledger's current word, which `getStageMembers` checks.
 *
 * @example
 * import { getPeerRecord } from "@shardholder/sdk"
 * const record = await getPeerRecord(client, { deployments, modelId: 1n, account: "0x…" })
 * if (record) console.log(record.stage, record.multiaddrs)
 */
export async function getPeerRecord(client: ShardholderClient, parameters: GetPeerRecordParameters): Promise<GetPeerRecordReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const record = await withTypedErrors(() =>
    readContract(client, {
      abi: [directoryAbi.peerOf],
      address: contracts.stageDirectory,
      functionName: "peerOf",
      args: [parameters.modelId, parameters.account],
    }),
  );
  return peerRecordOf(record);
}
