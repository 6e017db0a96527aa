import type { Address, Hex, LocalAccount } from "viem";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import type { MissingSignerError } from "../../protocol/commitment.ts";
import { signPipelineConsent } from "../../protocol/pipelineConsent.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";

export type ConsentToPipelineParameters = DeploymentsParameter & {
  modelId: bigint;
  /** The whole pipeline, one operator per stage, in stage order (the signer among them). */
  stageOperators: readonly Address[];
  /** Unix time (exclusive) after which the consent is void; the registration must use the same value. */
  deadline: bigint;
  /** The operator's own key; defaults to the client's account. */
  signer?: LocalAccount | undefined;
};

export type ConsentToPipelineReturnType = { signature: Hex };

export type ConsentToPipelineErrorType = MissingSignerError | NoDeploymentError;

/**
 * Signs the operator's consent to be a member of one pipeline, for the escrow of the client's
 * chain (EIP-712 domain filled from the address book), ready for `registerPipeline`.
 *
 * @example
 * import { consentToPipeline } from "@shardholder/sdk"
 * const { signature } = await consentToPipeline(operatorWallet, { deployments, modelId: 1n, stageOperators, deadline })
 */
export async function consentToPipeline(
  client: ShardholderClient,
  parameters: ConsentToPipelineParameters,
): Promise<ConsentToPipelineReturnType> {
  const deployments = await resolveDeployments(client, parameters.deployments);
  const context = {
    escrow: deployments.contracts.inferenceEscrow,
    chainId: deployments.chainId,
    consent: { modelId: parameters.modelId, stageOperators: parameters.stageOperators, deadline: parameters.deadline },
  };
  return { signature: await signPipelineConsent(parameters.signer ?? client, context) };
}
