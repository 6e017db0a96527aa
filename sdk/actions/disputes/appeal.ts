import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerAppealClosedError,
  ComputeLedgerAppealSameVerdictError,
  ComputeLedgerDisputeNotOpenError,
  ComputeLedgerNoAppealLeftError,
  ComputeLedgerVotingNotOverError,
  ComputeLedgerWrongBondError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  withTypedErrors,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";

export type AppealParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { disputeId: bigint; /** The verdict asked for. */ fraud: boolean };

export type AppealReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { bondWei: bigint }, wait>;

export type AppealErrorType =
  | ComputeLedgerDisputeNotOpenError
  | ComputeLedgerNoAppealLeftError
  | ComputeLedgerVotingNotOverError
  | ComputeLedgerAppealClosedError
  | ComputeLedgerAppealSameVerdictError
  | ComputeLedgerWrongBondError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Appeals a dispute's tentative verdict to a larger committee, bonding `appealBondWei` (read from
 * the ledger). The bond comes back if the final verdict is `fraud` as asked (or the dispute is
 * dismissed); otherwise it pays the coherent voters and is burned.
 *
 * @example
 * import { appeal } from "@shardholder/sdk"
 * await appeal(walletClient, { deployments, disputeId: 1n, fraud: false })
 */
export async function appeal<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: AppealParameters<wait>,
): Promise<AppealReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const bondWei = await withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "appealBondWei",
      args: [parameters.disputeId],
    }),
  );
  const sent = await sendContractWrite(
    client,
    {
      action: "appeal",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "appeal",
      args: [parameters.disputeId, parameters.fraud],
      value: bondWei,
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    return { ...result, bondWei };
  });
}
