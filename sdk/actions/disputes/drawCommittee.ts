import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerCommitteeAlreadyDrawnError,
  ComputeLedgerDisputeNotOpenError,
  ComputeLedgerDrawNotReadyError,
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
import { receiptEvents } from "../internal/events.ts";

export type DrawCommitteeParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { disputeId: bigint };

export type DrawCommitteeReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & {
    /** The drawn members (empty when the draw was deferred to a new block: the draw block's hash was gone). */
    members: readonly `0x${string}`[];
    seats: number;
    voteDeadline: number;
  },
  wait
>;

export type DrawCommitteeErrorType =
  | ComputeLedgerDrawNotReadyError
  | ComputeLedgerCommitteeAlreadyDrawnError
  | ComputeLedgerDisputeNotOpenError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Draws the committee of a dispute's current level (anyone may, once a block after the dispute's
 * `drawBlock` exists): stake-weighted seats from the hash of the block that locked the bond.
 *
 * @example
 * import { drawCommittee } from "@shardholder/sdk"
 * const { members, voteDeadline } = await drawCommittee(walletClient, { deployments, disputeId: 1n })
 */
export async function drawCommittee<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: DrawCommitteeParameters<wait>,
): Promise<DrawCommitteeReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "drawCommittee",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "drawCommittee",
      args: [parameters.disputeId],
      account: parameters.account,
      simulateOn: "pending",
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const [drawn] = receiptEvents(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "CommitteeDrawn" });
    if (!drawn) return { ...result, members: [], seats: 0, voteDeadline: 0 };
    return { ...result, members: drawn.args.members, seats: drawn.args.seats, voteDeadline: drawn.args.voteDeadline };
  });
}
