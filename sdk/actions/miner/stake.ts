import type { Address } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerJailedError, ComputeLedgerUnbondingError, ComputeLedgerZeroAddressError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type StakeParameters = DeploymentsParameter &
  AccountParameter & {
    /** Receives the token rewards (may be a cold wallet). */
    payout: Address;
    /** Signs commitments; rotate it with `setSigningKey`. */
    signingKey: Address;
    /** Wei added to the stake (0 only updates the addresses). */
    valueWei: bigint;
  };

export type StakeReturnType = WriteResult;

export type StakeErrorType =
  | ComputeLedgerZeroAddressError
  | ComputeLedgerUnbondingError
  | ComputeLedgerJailedError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Stakes native ETH in the compute ledger and registers the payout address and signing key.
 * The sending account becomes the worker/validator identity.
 *
 * @example
 * import { stake } from "shardholder/sdk"
 * await stake(walletClient, { deployments, payout, signingKey: signer.address, valueWei: parseEther("1") })
 */
export async function stake(client: ShardholderClient, parameters: StakeParameters): Promise<StakeReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "stake",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "stake",
    args: [parameters.payout, parameters.signingKey],
    value: parameters.valueWei,
    account: parameters.account,
  });
}
