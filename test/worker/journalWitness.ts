// Test fixture: a ledger that outlives the worker process it serves, so a `kill -9`ed worker
// meets the same chain state on restart. It applies the ComputeLedger's acceptance rule (one
// commitment per (modelId, round, stage, worker), EIP-712 signature by the registered signing
// key) and, unlike the contract, records every attempt to store a key twice instead of only
// reverting it, so the test can count double submissions.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Address, type Hex, keccak256, toHex } from "viem";
import type { SignedCommitment } from "../../sdk/actions/miner/submitCommitments.ts";
import { type Commitment, recoverCommitmentSigner } from "../../sdk/protocol/index.ts";
import type { CommitmentLedger, MinedOutcome } from "../../worker/commit/ledger.ts";
import { commitmentKey } from "../../worker/journal/index.ts";

type Tx = { hash: Hex; nonce: number; keys: string[]; status: "success" | "reverted"; blockNumber: bigint };

const bigintJson = (_k: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);
const bigintRevive = (_k: string, v: unknown) => (typeof v === "string" && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v);

/** Chain state of the witness ledger. */
export class WitnessChain {
  readonly stored = new Map<string, Commitment>();
  readonly txs: Tx[] = [];
  readonly duplicateAttempts: string[] = [];
  readonly badSignatures: string[] = [];
  #nonces = new Map<string, number>();

  constructor(
    readonly ledger: Address,
    readonly chainId: number,
    readonly signingKeys: ReadonlyMap<string, Address>,
  ) {}

  nonce(sender: Address): number {
    return this.#nonces.get(sender.toLowerCase()) ?? 0;
  }

  isStored(c: Commitment): boolean {
    return this.stored.has(commitmentKey(c));
  }

  /** Mines one transaction at once (the mempool is empty in this chain). */
  async submit(sender: Address, batch: readonly SignedCommitment[]): Promise<MinedOutcome> {
    const nonce = this.nonce(sender);
    this.#nonces.set(sender.toLowerCase(), nonce + 1);
    const keys = batch.map((s) => commitmentKey(s.commitment));
    const hash = keccak256(toHex(`${sender}:${nonce}`));
    let ok = true;
    for (const s of batch) {
      const key = commitmentKey(s.commitment);
      if (this.stored.has(key)) {
        this.duplicateAttempts.push(key);
        ok = false;
      }
      const signer = await recoverCommitmentSigner({ ledger: this.ledger, chainId: this.chainId, commitment: s.commitment, signature: s.signature });
      if (signer.toLowerCase() !== this.signingKeys.get(s.commitment.worker.toLowerCase())?.toLowerCase()) {
        this.badSignatures.push(key);
        ok = false;
      }
    }
    // All-or-nothing, like one reverted transaction.
    if (ok) for (const s of batch) this.stored.set(commitmentKey(s.commitment), s.commitment);
    const tx: Tx = { hash, nonce, keys, status: ok ? "success" : "reverted", blockNumber: BigInt(this.txs.length + 1) };
    this.txs.push(tx);
    return { txHash: hash, status: tx.status, blockNumber: tx.blockNumber };
  }

  receipt(hash: Hex): MinedOutcome | undefined {
    const tx = this.txs.find((t) => t.hash === hash);
    return tx && { txHash: tx.hash, status: tx.status, blockNumber: tx.blockNumber };
  }

  /** The {@link CommitmentLedger} of `sender` on this chain, in-process. */
  ledgerFor(sender: Address): CommitmentLedger {
    return {
      sender,
      nonce: async () => this.nonce(sender),
      isStored: async (c) => this.isStored(c),
      submit: (batch, hooks) =>
        this.submit(sender, batch).then(async (mined) => {
          await hooks?.onSent?.(mined.txHash);
          return mined;
        }),
      receipt: async (hash) => this.receipt(hash),
    };
  }
}

type Call = { method: "nonce" | "isStored" | "submit" | "receipt"; sender: Address; arg?: unknown };

/** Serves a {@link WitnessChain} over HTTP on loopback; `delayMs` widens the send/ack window. */
export async function serveWitness(chain: WitnessChain, delayMs = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const call = JSON.parse(Buffer.concat(chunks).toString("utf8"), bigintRevive) as Call;
    let result: unknown;
    if (call.method === "nonce") result = chain.nonce(call.sender);
    else if (call.method === "isStored") result = chain.isStored(call.arg as Commitment);
    else if (call.method === "submit") result = await chain.submit(call.sender, call.arg as SignedCommitment[]);
    else result = chain.receipt(call.arg as Hex) ?? null;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ result }, bigintJson));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The worker-side client of {@link serveWitness}. */
export function httpLedger(url: string, sender: Address): CommitmentLedger {
  const call = async <T>(method: Call["method"], arg?: unknown): Promise<T> => {
    const res = await fetch(url, { method: "POST", body: JSON.stringify({ method, sender, arg }, bigintJson) });
    const body = JSON.parse(await res.text(), bigintRevive) as { result: T };
    return body.result;
  };
  return {
    sender,
    nonce: () => call<number>("nonce"),
    isStored: (c) => call<boolean>("isStored", c),
    submit: async (batch, hooks) => {
      const mined = await call<MinedOutcome>("submit", batch);
      await hooks?.onSent?.(mined.txHash);
      return mined;
    },
    receipt: async (hash) => (await call<MinedOutcome | null>("receipt", hash)) ?? undefined,
  };
}
