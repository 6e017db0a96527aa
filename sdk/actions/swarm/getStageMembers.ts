import type { Address, Hex } from "viem";
import { getBlockNumber, readContract } from "viem/actions";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import * as directoryAbi from "../../abi/items/stageDirectory.ts";
import { InvalidParameterError, type NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { readMany } from "../internal/multicall.ts";

/** A member of a stage as the ledger counts it now, with the peer record it published. */
export type StageMember = {
  /** The member's staking identity (the key that announced the record). */
  account: Address;
  /**
   * `"validator"` when the account is an active validator of this very stage (whether or not it
   * also serves as a miner), otherwise `"miner"`: a serving miner of the model.
   */
  role: "miner" | "validator";
  /** The libp2p peer id, multihash bytes. */
  peerId: Hex;
  /** Where the peer listens, without the `/p2p/<id>` suffix. */
  multiaddrs: string[];
  /** Block timestamp (seconds) of the announcement. */
  announcedAt: bigint;
};

export type GetStageMembersParameters = DeploymentsParameter & {
  modelId: bigint;
  stage: number;
  /** Records read per `membersOf` call (default 100). */
  pageSize?: number | undefined;
};

export type GetStageMembersReturnType = StageMember[];

export type GetStageMembersErrorType = InvalidParameterError | NoDeploymentError;

/**
 * The members of one stage of a model and their libp2p peer records: every record the
 * StageDirectory lists under the stage (all pages of `membersOf`), kept only when the ledger
 * counts the account now: a serving miner of the model (`isServingOperator`: its minimum stake,
 * not unbonding, not jailed) or an active validator of this very stage (`validatorStage`). Records
 * of accounts that stopped qualifying (and could be pruned) are left out. Every page and the
 * ledger checks are read at one block, so a record moved by a removal between two pages is
 * neither lost nor listed twice; the ledger checks of a page go in one multicall.
 *
 * @example
 * import { getStageMembers } from "@shardholder/sdk"
 * const members = await getStageMembers(client, { deployments, modelId: 1n, stage: 1 })
 * for (const m of members) console.log(m.role, m.account, m.multiaddrs)
 */
export async function getStageMembers(
  client: ShardholderClient,
  parameters: GetStageMembersParameters,
): Promise<GetStageMembersReturnType> {
  const { modelId, stage, pageSize = 100 } = parameters;
  if (!Number.isInteger(stage) || stage < 0 || stage > 0xffff)
    throw new InvalidParameterError({ parameter: "stage", reason: `${stage} is not a stage number (0 to 65535)` });
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new InvalidParameterError({ parameter: "pageSize", reason: `must be a positive integer, got ${pageSize}` });
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const directory = { abi: [directoryAbi.membersOf], address: contracts.stageDirectory } as const;
  const ledger = { abi: [ledgerAbi.isServingOperator, ledgerAbi.validatorStage], address: contracts.computeLedger } as const;
  return withTypedErrors(async () => {
    const blockNumber = await getBlockNumber(client, { cacheTime: 0 });
    const members: StageMember[] = [];
    for (let offset = 0n; ; offset += BigInt(pageSize)) {
      const [accounts, records] = await readContract(client, {
        ...directory,
        functionName: "membersOf",
        args: [modelId, stage, offset, BigInt(pageSize)],
        blockNumber,
      });
      if (accounts.length === 0) break;
      const checks = await readMany(
        client,
        accounts.flatMap((account) => [
          { ...ledger, functionName: "isServingOperator", args: [modelId, account] } as const,
          { ...ledger, functionName: "validatorStage", args: [account] } as const,
        ]),
        { blockNumber },
      );
      accounts.forEach((account, i) => {
        const record = records[i];
        const serving = checks[2 * i] as boolean;
        const [validatorModel, validatorStage, active] = checks[2 * i + 1] as readonly [bigint, number, boolean];
        const validator = active && validatorModel === modelId && validatorStage === stage;
        if (!record || !(serving || validator)) return;
        members.push({
          account,
          role: validator ? "validator" : "miner",
          peerId: record.peerId,
          multiaddrs: [...record.multiaddrs],
          announcedAt: record.announcedAt,
        });
      });
      if (accounts.length < pageSize) break;
    }
    return members;
  });
}
