import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerCommitmentSlashedError,
  ComputeLedgerCommitmentVoidedError,
  ComputeLedgerNeighbourNotMissingError,
  ComputeLedgerNotUnlinkedError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerUnknownCommitmentError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import type { Commitment } from "../../protocol/commitment.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";

export type ProveUnlinkedParameters = DeploymentsParameter &
  AccountParameter & {
    /** The accepted commitment to void, exactly as signed. */
    commitment: Commitment;
    /** The accepted commitment of the neighbour it names, which names another worker back. */
    neighbour: Commitment;
  };

export type ProveNeighbourMissingParameters = DeploymentsParameter &
  AccountParameter & {
    /** The accepted commitment to void, exactly as signed. */
    commitment: Commitment;
    /** True when its `upstream` has no commitment of the round, false for its `downstream`. */
    upstreamSide: boolean;
  };

export type VoidCommitmentReturnType = WriteResult & { removedUnits: bigint };

export type VoidCommitmentErrorType =
  | ComputeLedgerNotUnlinkedError
  | ComputeLedgerNeighbourNotMissingError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerCommitmentSlashedError
  | ComputeLedgerCommitmentVoidedError
  | ComputeLedgerOutsideChallengeWindowError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Voids a commitment (no reward; its units leave the round) whose named pipeline neighbour names
 * another worker back: what a verbatim copy of someone else's commitment looks like on-chain.
 * A pure proof against the two stored digests: anyone may send it during the challenge window.
 *
 * @example
 * import { proveUnlinked } from "shardholder/sdk"
 * await proveUnlinked(walletClient, { deployments, commitment: copy, neighbour: upstreamCommitment })
 */
export async function proveUnlinked(client: ShardholderClient, parameters: ProveUnlinkedParameters): Promise<VoidCommitmentReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const result = await sendContractWrite(client, {
    action: "proveUnlinked",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "proveUnlinked",
    args: [parameters.commitment, parameters.neighbour],
    account: parameters.account,
  });
  const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitmentVoided" });
  return { ...result, removedUnits: args.removedUnits };
}

/**
 * Voids a commitment whose named neighbour has no commitment of the round at the adjacent stage,
 * once the round's commit window has closed (before that the neighbour may still commit).
 *
 * @example
 * import { proveNeighbourMissing } from "shardholder/sdk"
 * await proveNeighbourMissing(walletClient, { deployments, commitment, upstreamSide: true })
 */
export async function proveNeighbourMissing(
  client: ShardholderClient,
  parameters: ProveNeighbourMissingParameters,
): Promise<VoidCommitmentReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const result = await sendContractWrite(client, {
    action: "proveNeighbourMissing",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "proveNeighbourMissing",
    args: [parameters.commitment, parameters.upstreamSide],
    account: parameters.account,
  });
  const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitmentVoided" });
  return { ...result, removedUnits: args.removedUnits };
}
