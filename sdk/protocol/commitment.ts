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
  parseSignature,
  recoverTypedDataAddress,
  serializeCompactSignature,
  signatureToCompactSignature,
  type Transport,
  type TypedDataDomain,
} from "viem";
import { signTypedData } from "viem/actions";
import { BaseError } from "../errors/base.ts";

/** EIP-712 domain name and version of the compute ledger. */
export const commitmentDomainName = "Shardholder";
export const commitmentDomainVersion = "1";

/** EIP-712 types of a round commitment (docs/PROTOCOL.md, "Commitment signature"). */
export const commitmentTypes = {
  Commitment: [
    { name: "modelId", type: "uint64" },
    { name: "round", type: "uint64" },
    { name: "stage", type: "uint16" },
    { name: "worker", type: "address" },
    { name: "itemsRoot", type: "bytes32" },
    { name: "itemCount", type: "uint32" },
    { name: "weightsRootBefore", type: "bytes32" },
    { name: "weightsRootAfter", type: "bytes32" },
  ],
} as const;

/** A stage worker's signed statement about one round (the EIP-712 message). */
export type Commitment = {
  modelId: bigint;
  round: bigint;
  stage: number;
  worker: Address;
  itemsRoot: Hex;
  itemCount: number;
  weightsRootBefore: Hex;
  weightsRootAfter: Hex;
};

/** Where a commitment is verified: the ComputeLedger address and its chain. */
export type CommitmentContext = { ledger: Address; chainId: number; commitment: Commitment };

/** The EIP-712 domain of the ComputeLedger at `ledger` on `chainId`. */
export function commitmentDomain(ledger: Address, chainId: number): TypedDataDomain {
  return { name: commitmentDomainName, version: commitmentDomainVersion, chainId, verifyingContract: ledger };
}

function typedData({ ledger, chainId, commitment }: CommitmentContext) {
  return {
    domain: commitmentDomain(ledger, chainId),
    types: commitmentTypes,
    primaryType: "Commitment",
    message: commitment,
  } as const;
}

/**
 * The EIP-712 digest the signing key signs and the ledger recovers from.
 *
 * @example
 * const digest = hashCommitment({ ledger, chainId: 31337, commitment })
 */
export function hashCommitment(parameters: CommitmentContext): Hex {
  return hashTypedData(typedData(parameters));
}

/**
 * The digest the ledger stores (its top 18 bytes) for an accepted commitment (docs/PROTOCOL.md,
 * "Stored commitment digest"): `keccak256(abi.encode(itemsRoot, weightsRootBefore, weightsRootAfter))`.
 * Compare `getCommitment(...).digestPrefix` with its first 18 bytes.
 *
 * @example
 * const prefix = storedCommitmentDigest(commitment).slice(0, 2 + 36)
 */
export function storedCommitmentDigest(c: Commitment): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
      [c.itemsRoot, c.weightsRootBefore, c.weightsRootAfter],
    ),
  );
}

/** Thrown when a wallet client has no account to sign a commitment with. */
export class MissingSignerError extends BaseError {
  constructor() {
    super("No account to sign the commitment with.", {
      name: "MissingSignerError",
      metaMessages: ["Pass a local account, or a wallet client created with an `account`."],
    });
  }
}

type SignerClient = Client<Transport, Chain | undefined, Account | undefined>;

function isLocalAccount(signer: LocalAccount | SignerClient): signer is LocalAccount {
  return signer.type === "local";
}

/**
 * Signs a commitment with the worker's signing key (never its payout key).
 *
 * @example
 * const signature = await signCommitment(privateKeyToAccount(signingKey), { ledger, chainId, commitment })
 */
export async function signCommitment(signer: LocalAccount | SignerClient, parameters: CommitmentContext): Promise<Hex> {
  if (isLocalAccount(signer)) return signer.signTypedData(typedData(parameters));
  if (!signer.account) throw new MissingSignerError();
  return signTypedData(signer, { account: signer.account, ...typedData(parameters) });
}

/**
 * Recovers the address that signed a commitment (compare it with the worker's registered key).
 *
 * @example
 * const signer = await recoverCommitmentSigner({ ledger, chainId, commitment, signature })
 */
export async function recoverCommitmentSigner(parameters: CommitmentContext & { signature: Hex }): Promise<Address> {
  return recoverTypedDataAddress({ ...typedData(parameters), signature: parameters.signature });
}

/**
 * The 64-byte EIP-2098 form `r ++ (yParity << 255 | s)` of a 65-byte signature (a 64-byte one is returned
 * as is). The ledger's `submitCommitments` takes both forms (docs/PROTOCOL.md "Commitment signature");
 * the short one costs 33 fewer calldata bytes per commitment, so the SDK submits it. It recovers the
 * same signer: only the encoding differs.
 *
 * @example
 * const compact = compactCommitmentSignature(await signCommitment(signer, { ledger, chainId, commitment }))
 */
export function compactCommitmentSignature(signature: Hex): Hex {
  if (signature.length === 2 + 64 * 2) return signature;
  return serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)));
}
