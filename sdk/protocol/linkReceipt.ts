import { type Address, type Hex, type LocalAccount, bytesToHex, hashTypedData, hexToBytes, recoverTypedDataAddress } from "viem";
import { BaseError } from "../errors/base.ts";
import { commitmentDomain } from "./commitment.ts";

/** EIP-712 types of a link receipt (docs/PROTOCOL.md "Link receipts"). */
export const linkReceiptTypes = {
  LinkReceipt: [
    { name: "modelId", type: "uint64" },
    { name: "round", type: "uint64" },
    { name: "stage", type: "uint16" },
    { name: "upstream", type: "address" },
    { name: "downstream", type: "address" },
    { name: "microbatches", type: "bytes" },
  ],
} as const;

/**
 * What two pipeline neighbours exchanged in one round: the upstream (at `stage`) sent each listed
 * microbatch to the downstream (at `stage + 1`) and kept its gradient. Either end signs it; its leaf of
 * a listed microbatch must name the other end, or the receipt proves it lied (`proveLinkEquivocation`).
 */
export type LinkReceipt = {
  modelId: bigint;
  round: bigint;
  stage: number;
  upstream: Address;
  downstream: Address;
  /** Bitmap: microbatch `m` is bit `m % 8` (least significant first) of byte `m / 8`. */
  microbatches: Hex;
};

/** Where a receipt is verified: the ComputeLedger address and its chain (the commitment's domain). */
export type LinkReceiptContext = { ledger: Address; chainId: number; receipt: LinkReceipt };

/** Thrown for a microbatch index a bitmap cannot hold (negative, fractional or above 2^32 - 1). */
export class InvalidMicrobatchError extends BaseError {
  constructor(microbatch: number) {
    super(`Microbatch ${microbatch} is not a uint32.`, { name: "InvalidMicrobatchError" });
  }
}

/**
 * The receipt bitmap of `microbatches`, `ceil(count / 8)` bytes (the round's count, so every receipt of a
 * round has one length).
 *
 * @example
 * microbatchBitmap([0, 2, 9], 16) // "0x0502"
 */
export function microbatchBitmap(microbatches: Iterable<number>, count: number): Hex {
  const bytes = new Uint8Array(Math.ceil(count / 8));
  for (const m of microbatches) {
    if (!Number.isInteger(m) || m < 0 || m >= count || m > 0xffffffff) throw new InvalidMicrobatchError(m);
    bytes[m >> 3]! |= 1 << (m & 7);
  }
  return bytesToHex(bytes);
}

/**
 * The microbatches a receipt bitmap lists, ascending.
 *
 * @example
 * listedMicrobatches("0x0502") // [0, 2, 9]
 */
export function listedMicrobatches(bitmap: Hex): number[] {
  const bytes = hexToBytes(bitmap);
  const listed: number[] = [];
  bytes.forEach((byte, i) => {
    for (let bit = 0; bit < 8; bit++) if ((byte >> bit) & 1) listed.push(i * 8 + bit);
  });
  return listed;
}

/** Whether a receipt lists microbatch `m`. */
export function receiptLists(receipt: LinkReceipt, m: number): boolean {
  const bytes = hexToBytes(receipt.microbatches);
  return m >> 3 < bytes.length && ((bytes[m >> 3]! >> (m & 7)) & 1) === 1;
}

function typedData({ ledger, chainId, receipt }: LinkReceiptContext) {
  return {
    domain: commitmentDomain(ledger, chainId),
    types: linkReceiptTypes,
    primaryType: "LinkReceipt",
    message: receipt,
  } as const;
}

/** The EIP-712 digest of a receipt. */
export function hashLinkReceipt(parameters: LinkReceiptContext): Hex {
  return hashTypedData(typedData(parameters));
}

/**
 * Signs a receipt with a worker's signing key (the key it signs commitments with).
 *
 * @example
 * const signature = await signLinkReceipt(privateKeyToAccount(signingKey), { ledger, chainId, receipt })
 */
export async function signLinkReceipt(signer: LocalAccount, parameters: LinkReceiptContext): Promise<Hex> {
  return signer.signTypedData(typedData(parameters));
}

/**
 * The address that signed a receipt (compare it with the worker's signing key).
 *
 * @example
 * const signer = await recoverLinkReceiptSigner({ ledger, chainId, receipt, signature })
 */
export async function recoverLinkReceiptSigner(parameters: LinkReceiptContext & { signature: Hex }): Promise<Address> {
  return recoverTypedDataAddress({ ...typedData(parameters), signature: parameters.signature });
}
