import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNotRegisteredError, ComputeLedgerValidatorUnchangedError } from "../../errors/contractErrors.ts";
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
  WriteParameters<wait> & { validator: boolean };

export type SetValidatorReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type SetValidatorErrorType = ComputeLedgerNotRegisteredError | ComputeLedgerValidatorUnchangedError | AccountRequiredError | NoDeploymentError;

/**
 * Opts the caller in or out of the validator set (challenges and dispute committees).
 *
 * @example
 * import { setValidator } from "@shardholder/sdk"
 * await setValidator(walletClient, { deployments, validator: true })
 */
export async function setValidator<wait extends boolean = true>(client: ShardholderClient, parameters: SetValidatorParameters<wait>): Promise<SetValidatorReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "setValidator",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "setValidator",
    args: [parameters.validator],
    account: parameters.account,
  }, parameters);
}
