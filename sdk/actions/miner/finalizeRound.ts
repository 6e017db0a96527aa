import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import { ContractRevertError } from "../../errors/contract.ts";
import { nextBlockTime } from "../internal/blockTime.ts";
import { durationText } from "../internal/duration.ts";
import type {
  ComputeLedgerAlreadyFinalizedError,
  ComputeLedgerChallengeWindowOpenError,
  ComputeLedgerDisputesOpenError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";

export type FinalizeRoundParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { modelId: bigint; round: bigint };

export type FinalizeRoundReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type FinalizeRoundErrorType =
  | ComputeLedgerChallengeWindowOpenError
  | ComputeLedgerAlreadyFinalizedError
  | ComputeLedgerDisputesOpenError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Finalizes a round after its challenge window (anyone may call it): fixes its accepted units and emission.
 * Too early, it throws `ComputeLedgerChallengeWindowOpenError` saying which window is open (the
 * contract's error covers the commit window too) and when the round can be finalized.
 *
 * @example
 * import { finalizeRound } from "@shardholder/sdk"
 * await finalizeRound(walletClient, { deployments, modelId: 1n, round: 0n })
 */
export async function finalizeRound<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: FinalizeRoundParameters<wait>,
): Promise<FinalizeRoundReturnType<wait>> {
  const deployments = await resolveDeployments(client, parameters.deployments);
  try {
    return await sendContractWrite(
      client,
      {
        action: "finalizeRound",
        abi: computeLedgerAbi,
        address: deployments.contracts.computeLedger,
        functionName: "finalizeRound",
        args: [parameters.modelId, parameters.round],
        account: parameters.account,
        // On an idle chain the latest block may predate the window's end while the next one will not.
        simulateOn: "pending",
      },
      parameters,
    );
  } catch (err) {
    // Matched by name, not class: the error registry stays lazily loaded.
    if (err instanceof ContractRevertError && err.errorName === "ComputeLedgerChallengeWindowOpen")
      throw await explainTooEarly(client, deployments.contracts.modelRegistry, parameters, err);
    throw err;
  }
}

/** The same error, saying whether the commit or the challenge window is open and until when. */
async function explainTooEarly(
  client: ShardholderClient,
  registry: `0x${string}`,
  { modelId, round }: { modelId: bigint; round: bigint },
  err: ContractRevertError,
): Promise<ContractRevertError> {
  try {
    const [model, now] = await Promise.all([
      readContract(client, { abi: [registryAbi.model], address: registry, functionName: "model", args: [modelId] }),
      nextBlockTime(client),
    ]);
    const commitEnd = model.genesisTime + (round + 1n) * BigInt(model.timing.commitWindowSec);
    const challengeEnd = commitEnd + BigInt(model.timing.challengeWindowSec);
    const at = (t: bigint) => new Date(Number(t) * 1000).toISOString();
    const open =
      now < commitEnd
        ? `its commit window is open until ${at(commitEnd)} (${durationText(commitEnd - now)} left), then its challenge window until ${at(challengeEnd)}`
        : `its challenge window is open until ${at(challengeEnd)} (${durationText(challengeEnd - now)} left)`;
    const Class = err.constructor as typeof ContractRevertError;
    return new Class({
      errorName: err.errorName,
      args: err.args,
      contract: "ComputeLedger",
      raw: err.raw,
      cause: err,
      shortMessage: `Round ${round} of model ${modelId} cannot be finalized yet: ${open}.`,
    });
  } catch {
    return err; // the explanation is a courtesy: never hide the revert behind a failed read
  }
}
