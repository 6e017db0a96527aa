import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerBadStageError,
  ComputeLedgerNotRegisteredError,
  ComputeLedgerValidatorOfAnotherStageError,
  ComputeLedgerValidatorUnchangedError,
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

export type SetValidatorParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    modelId: bigint;
    /** The stage to validate (or, opting out, the stage held): a validator holds one stage at a time. */
    stage: number;
    validator: boolean;
  };

export type SetValidatorReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type SetValidatorErrorType =
  | ComputeLedgerNotRegisteredError
  | ComputeLedgerValidatorUnchangedError
  | ComputeLedgerValidatorOfAnotherStageError
  | ComputeLedgerBadStageError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Opts the caller in or out of the validators of one stage of a model (its audits, attestations,
 * challenges and dispute committees). A validator holds one stage at a time, so it never needs
 * another stage's weights; to move, opt out of the current stage first.
 *
 * @example
 * import { setValidator } from "@shardholder/sdk"
 * await setValidator(walletClient, { deployments, modelId: 1n, stage: 0, validator: true })
 */
export async function setValidator<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: SetValidatorParameters<wait>,
): Promise<SetValidatorReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "setValidator",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "setValidator",
      args: [parameters.modelId, parameters.stage, parameters.validator],
      account: parameters.account,
    },
    parameters,
  );
}
