import { type Address, getAddress, type Hex, isAddressEqual } from "viem";
import { inferenceEscrowAbi } from "../../abi/inferenceEscrow.ts";
import type {
  InferenceEscrowConsentExpiredError,
  InferenceEscrowInvalidConsentError,
  InferenceEscrowPipelineExistsError,
  InferenceEscrowStageCountMismatchError,
  InferenceEscrowUnknownModelError,
} from "../../errors/contractErrors.ts";
import { AccountRequiredError, type NoDeploymentError } from "../../errors/sdk.ts";
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

export type RegisterPipelineParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    modelId: bigint;
    /** One operator per stage, in stage order (an operator serving several stages appears several times). */
    stageOperators: readonly Address[];
    /** Unix time (exclusive) the consents were signed with (`signPipelineConsent`). */
    consentDeadline: bigint;
    /** Each other operator's consent signature, by operator address; the sender consents by sending. */
    consents?: Readonly<Record<Address, Hex>> | undefined;
  };

export type RegisterPipelineReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { pipelineKey: Hex }, wait>;

export type RegisterPipelineErrorType =
  | InferenceEscrowInvalidConsentError
  | InferenceEscrowConsentExpiredError
  | InferenceEscrowPipelineExistsError
  | InferenceEscrowStageCountMismatchError
  | InferenceEscrowUnknownModelError
  | AccountRequiredError
  | NoDeploymentError;

/** The per-stage `consents` argument: each operator's signature at its first stage, empty for the sender and repeats. */
export function pipelineConsentArgs(sender: Address, stageOperators: readonly Address[], consents: Readonly<Record<Address, Hex>>): Hex[] {
  const byOperator = new Map(Object.entries(consents).map(([op, sig]) => [getAddress(op), sig] as const));
  return stageOperators.map((op, i) => {
    if (isAddressEqual(op, sender) || stageOperators.slice(0, i).some((prev) => isAddressEqual(prev, op))) return "0x";
    return byOperator.get(getAddress(op)) ?? "0x";
  });
}

/**
 * Registers a pipeline: the ordered stage operators of a model that requests may name and that
 * alone can fulfil them. Every distinct operator must consent: the sender by sending, every other
 * one by an EIP-712 signature (`signPipelineConsent` with the same `consentDeadline`).
 *
 * @example
 * import { registerPipeline, signPipelineConsent } from "@shardholder/sdk"
 * const consent = { modelId: 1n, stageOperators: [op0, op1], deadline }
 * const sig1 = await signPipelineConsent(op1Account, { escrow, chainId, consent })
 * const { pipelineKey } = await registerPipeline(op0Wallet, { deployments, modelId: 1n, stageOperators: [op0, op1], consentDeadline: deadline, consents: { [op1]: sig1 } })
 */
export async function registerPipeline<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: RegisterPipelineParameters<wait>,
): Promise<RegisterPipelineReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: "registerPipeline" });
  const sender = typeof account === "string" ? account : account.address;
  const sent = await sendContractWrite(
    client,
    {
      action: "registerPipeline",
      abi: inferenceEscrowAbi,
      address: contracts.inferenceEscrow,
      functionName: "registerPipeline",
      args: [
        parameters.modelId,
        parameters.stageOperators,
        parameters.consentDeadline,
        pipelineConsentArgs(sender, parameters.stageOperators, parameters.consents ?? {}),
      ],
      account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: inferenceEscrowAbi, address: contracts.inferenceEscrow, eventName: "PipelineRegistered" });
    return { ...result, pipelineKey: args.pipelineKey };
  });
}
