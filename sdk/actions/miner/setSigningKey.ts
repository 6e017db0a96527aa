import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { Address } from "viem";
import type { ComputeLedgerNotRegisteredError, ComputeLedgerZeroAddressError } from "../../errors/contractErrors.ts";
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

export type SetSigningKeyParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { signingKey: Address };

export type SetSigningKeyReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type SetSigningKeyErrorType =
  ComputeLedgerNotRegisteredError | ComputeLedgerZeroAddressError | AccountRequiredError | NoDeploymentError;

/**
 * Rotates the caller's commitment signing key; signatures by the previous key are rejected from the next block on.
 *
 * @example
 * import { setSigningKey } from "@shardholder/sdk"
 * await setSigningKey(walletClient, { deployments, signingKey: newSigner.address })
 */
export async function setSigningKey<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: SetSigningKeyParameters<wait>,
): Promise<SetSigningKeyReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "setSigningKey",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "rotateSigningKey",
      args: [parameters.signingKey],
      account: parameters.account,
    },
    parameters,
  );
}
