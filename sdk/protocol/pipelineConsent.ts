import {
  type Account,
  type Address,
  type Chain,
  type Client,
  encodeAbiParameters,
  type Hex,
  hashTypedData,
  keccak256,
  type LocalAccount,
  recoverTypedDataAddress,
  type Transport,
  type TypedDataDomain,
} from "viem";
import { signTypedData } from "viem/actions";
import { MissingSignerError } from "./commitment.ts";

/** EIP-712 domain name and version of the inference escrow (its own address keeps it apart from the ledger's). */
export const pipelineConsentDomainName = "Shardholder";
export const pipelineConsentDomainVersion = "1";

/** EIP-712 types of an operator's consent to a pipeline (docs/PROTOCOL.md, "Pipelines and consent"). */
export const pipelineConsentTypes = {
  PipelineConsent: [
    { name: "modelId", type: "uint64" },
    { name: "stageOperators", type: "address[]" },
    { name: "deadline", type: "uint64" },
  ],
} as const;

/** What one operator consents to: being a member of exactly this pipeline, until `deadline` (unix seconds, exclusive). */
export type PipelineConsent = { modelId: bigint; stageOperators: readonly Address[]; deadline: bigint };

/** Where a consent is verified: the InferenceEscrow address and its chain. */
export type PipelineConsentContext = { escrow: Address; chainId: number; consent: PipelineConsent };

/** The EIP-712 domain of the InferenceEscrow at `escrow` on `chainId`. */
export function pipelineConsentDomain(escrow: Address, chainId: number): TypedDataDomain {
  return { name: pipelineConsentDomainName, version: pipelineConsentDomainVersion, chainId, verifyingContract: escrow };
}

/**
 * The escrow's key of the pipeline of `modelId` served by `stageOperators` (one per stage, in stage
 * order): `keccak256(abi.encode(uint64 modelId, address[] stageOperators))`.
 *
 * @example
 * const key = pipelineKey(1n, [op0, op1, op2])
 */
export function pipelineKey(modelId: bigint, stageOperators: readonly Address[]): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint64" }, { type: "address[]" }], [modelId, stageOperators]));
}

function typedData({ escrow, chainId, consent }: PipelineConsentContext) {
  return {
    domain: pipelineConsentDomain(escrow, chainId),
    types: pipelineConsentTypes,
    primaryType: "PipelineConsent",
    message: { modelId: consent.modelId, stageOperators: [...consent.stageOperators], deadline: consent.deadline },
  } as const;
}

/**
 * The EIP-712 digest each operator signs (the escrow's `hashPipelineConsent`).
 *
 * @example
 * const digest = hashPipelineConsent({ escrow, chainId: 31337, consent: { modelId: 1n, stageOperators, deadline } })
 */
export function hashPipelineConsent(parameters: PipelineConsentContext): Hex {
  return hashTypedData(typedData(parameters));
}

/** A wallet client whose account signs (JSON-RPC or local). */
export type SignerClient = Client<Transport, Chain | undefined, Account | undefined>;

function isLocalAccount(signer: LocalAccount | SignerClient): signer is LocalAccount {
  return signer.type === "local";
}

/** Signs EIP-712 typed data with a local account, or with a wallet client's account. */
export async function signTyped(signer: LocalAccount | SignerClient, typed: Parameters<LocalAccount["signTypedData"]>[0]): Promise<Hex> {
  if (isLocalAccount(signer)) return signer.signTypedData(typed);
  if (!signer.account) throw new MissingSignerError();
  return signTypedData(signer, { account: signer.account, ...typed });
}

/**
 * Signs an operator's consent to a pipeline with the operator's own (staking identity) key.
 *
 * @example
 * const signature = await signPipelineConsent(privateKeyToAccount(operatorKey), { escrow, chainId, consent })
 */
export async function signPipelineConsent(signer: LocalAccount | SignerClient, parameters: PipelineConsentContext): Promise<Hex> {
  return signTyped(signer, typedData(parameters));
}

/**
 * Recovers the address that signed a pipeline consent.
 *
 * @example
 * const operator = await recoverPipelineConsentSigner({ escrow, chainId, consent, signature })
 */
export async function recoverPipelineConsentSigner(parameters: PipelineConsentContext & { signature: Hex }): Promise<Address> {
  return recoverTypedDataAddress({ ...typedData(parameters), signature: parameters.signature });
}
