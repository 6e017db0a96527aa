import type { Address } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNoFraudProvenError, ComputeLedgerNotAttestedError } from "../../errors/contractErrors.ts";
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
import { receiptEvent } from "../internal/events.ts";

export type SlashFalseAttestationParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { disputeId: bigint; validator: Address };

export type SlashFalseAttestationReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { rewardForfeited: boolean; slashedWei: bigint },
  wait
>;

export type SlashFalseAttestationErrorType =
  ComputeLedgerNoFraudProvenError | ComputeLedgerNotAttestedError | AccountRequiredError | NoDeploymentError;

/**
 * Slashes a validator that attested the leaf a resolved dispute proved fraudulent; the caller is
 * credited the winner's share. Anyone may call it while the validator's stake is bonded.
 *
 * @example
 * import { slashFalseAttestation } from "@shardholder/sdk"
 * await slashFalseAttestation(walletClient, { deployments, disputeId, validator })
 */
export async function slashFalseAttestation<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: SlashFalseAttestationParameters<wait>,
): Promise<SlashFalseAttestationReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "slashFalseAttestation",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "slashFalseAttestation",
      args: [parameters.disputeId, parameters.validator],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const forfeit = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "AttestationSlashed" });
    const slash = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "WorkerSlashed" });
    return { ...result, rewardForfeited: forfeit.args.rewardForfeited, slashedWei: slash.args.slashedWei };
  });
}
