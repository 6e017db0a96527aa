import type { Address } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerJailedError, ComputeLedgerUnbondingError, ComputeLedgerZeroAddressError } from "../../errors/contractErrors.ts";
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

export type StakeParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** Receives the token rewards (may be a cold wallet). */
    payout: Address;
    /** Signs commitments; rotate it with `setSigningKey`. */
    signingKey: Address;
    /** Wei added to the stake (0 only updates the addresses). */
    valueWei: bigint;
  };

export type StakeReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type StakeErrorType =
  ComputeLedgerZeroAddressError | ComputeLedgerUnbondingError | ComputeLedgerJailedError | AccountRequiredError | NoDeploymentError;

/**
 * Stakes native ETH in the compute ledger and registers the payout address and signing key.
 * The sending account becomes the worker/validator identity.
 *
 * @example
 * import { stake } from "@shardholder/sdk"
 * await stake(walletClient, { deployments, payout, signingKey: signer.address, valueWei: parseEther("1") })
 */
export async function stake<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: StakeParameters<wait>,
): Promise<StakeReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "stake",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "stake",
      args: [parameters.payout, parameters.signingKey],
      value: parameters.valueWei,
      account: parameters.account,
    },
    parameters,
  );
}
