import type { LocalAccount } from "viem";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type Commitment, type MissingSignerError, signCommitment } from "../../protocol/commitment.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import type { SignedCommitment } from "./submitCommitments.ts";

export type SignRoundCommitmentParameters = DeploymentsParameter & {
  commitment: Commitment;
  /** The worker's signing key (not its payout or staking key); defaults to the client's account. */
  signer?: LocalAccount | undefined;
};

export type SignRoundCommitmentReturnType = SignedCommitment;

export type SignRoundCommitmentErrorType = MissingSignerError | NoDeploymentError;

/**
 * Signs a commitment for the ledger of the client's chain (EIP-712 domain filled from the
 * address book), ready for `submitCommitments`.
 *
 * @example
 * import { signRoundCommitment } from "@shardholder/sdk"
 * const signed = await signRoundCommitment(client, { deployments, commitment, signer: signingAccount })
 */
export async function signRoundCommitment(
  client: ShardholderClient,
  parameters: SignRoundCommitmentParameters,
): Promise<SignRoundCommitmentReturnType> {
  const deployments = await resolveDeployments(client, parameters.deployments);
  const context = { ledger: deployments.contracts.computeLedger, chainId: deployments.chainId, commitment: parameters.commitment };
  const signature = await signCommitment(parameters.signer ?? client, context);
  return { commitment: parameters.commitment, signature };
}
