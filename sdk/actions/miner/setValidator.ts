import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNotRegisteredError, ComputeLedgerValidatorUnchangedError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type SetValidatorParameters = DeploymentsParameter & AccountParameter & { validator: boolean };

export type SetValidatorReturnType = WriteResult;

export type SetValidatorErrorType = ComputeLedgerNotRegisteredError | ComputeLedgerValidatorUnchangedError | AccountRequiredError | NoDeploymentError;

/**
 * Opts the caller in or out of the validator set (challenges and dispute committees).
 *
 * @example
 * import { setValidator } from "shardholder/sdk"
 * await setValidator(walletClient, { deployments, validator: true })
 */
export async function setValidator(client: ShardholderClient, parameters: SetValidatorParameters): Promise<SetValidatorReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "setValidator",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "setValidator",
    args: [parameters.validator],
    account: parameters.account,
  });
}
