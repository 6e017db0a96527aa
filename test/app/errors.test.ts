// The page's words for failures and amounts (app/src/errors.ts, app/src/format.ts), checked on the
// errors the SDK and viem really throw.
import { encodeErrorResult, HttpRequestError, parseEther, UserRejectedRequestError } from "viem";
import { describe, expect, it } from "vitest";
import { describeError } from "../../app/src/errors.ts";
import { formatAmount, formatEth, formatShare, parseEthInput } from "../../app/src/format.ts";
import { roundStatus } from "../../app/src/rounds.ts";
import { modelTokenAbi } from "../../sdk/abi/modelToken.ts";
import { inferenceEscrowAbi } from "../../sdk/abi/inferenceEscrow.ts";
import { toShardholderError } from "../../sdk/errors/decode.ts";
import { InsufficientFundsError, RpcUnreachableError } from "../../sdk/errors/inference.ts";

/** What viem throws for a call that reverted with `data` (the SDK finds the data on the chain of causes). */
const reverted = (data: `0x${string}`) =>
  Object.assign(new Error("execution reverted"), { cause: Object.assign(new Error("inner"), { data }) });

describe("describeError", () => {
  it("spells out a contract's custom error and names it", () => {
    const data = encodeErrorResult({ abi: inferenceEscrowAbi, errorName: "InferenceEscrowFeeTooLow", args: [1n, 1000n] });
    const d = describeError(toShardholderError(reverted(data)));
    expect(d).toEqual({
      kind: "reverted",
      title: "The contract refused: InferenceEscrow reverted: fee too low (1, 1000).",
      errorName: "InferenceEscrowFeeTooLow",
    });
    const zero = describeError(
      toShardholderError(reverted(encodeErrorResult({ abi: modelTokenAbi, errorName: "ModelTokenZeroRecipient" }))),
    );
    expect(zero.title).toBe("The contract refused: ModelToken reverted: zero recipient.");
  });

  it("tells a wallet's refusal from a failure, however deep it is wrapped", () => {
    const rejected = new UserRejectedRequestError(new Error("User denied transaction signature."));
    expect(describeError(rejected).kind).toBe("rejected");
    expect(describeError(Object.assign(new Error("wrapped"), { cause: { code: 4001, message: "no" } })).kind).toBe("rejected");
  });

  it("says when the chain does not answer, and when funds are short", () => {
    const down = new RpcUnreachableError({ url: "http://127.0.0.1:1/", cause: new HttpRequestError({ url: "http://127.0.0.1:1/" }) });
    expect(describeError(down)).toMatchObject({ kind: "rpc", detail: "Cannot reach the JSON-RPC endpoint http://127.0.0.1:1/." });
    const poor = new InsufficientFundsError({
      account: "0x0000000000000000000000000000000000000001",
      balanceWei: 5n * 10n ** 14n,
      feeWei: 10n ** 16n,
    });
    expect(describeError(poor)).toMatchObject({ kind: "funds", title: expect.stringContaining("Insufficient funds for 0.01 ETH + gas") });
    expect(describeError("plain")).toEqual({ kind: "other", title: "plain" });
  });
});

describe("formatting", () => {
  it("shows ETH readably and never rounds a non-zero amount to zero", () => {
    expect(formatEth(0n)).toBe("0 ETH");
    expect(formatEth(parseEther("1234.5"))).toBe("1,234.5 ETH");
    expect(formatEth(parseEther("0.0068"))).toBe("0.0068 ETH");
    expect(formatEth(6_884_999_999_999_999n)).toBe("0.006884 ETH");
    expect(formatEth(1n)).toBe("0.000000000000000001 ETH");
    expect(formatEth(1_234_567n)).toBe("0.00000000000123 ETH");
    expect(formatAmount(parseEther("668.2826"), 18, 4)).toBe("668.28");
  });

  it("gives shares as percentages and parses typed ETH", () => {
    expect(formatShare(1n, 3n)).toBe("33.33 %");
    expect(formatShare(0n, 0n)).toBe("–");
    expect(formatShare(1n, 10n ** 9n)).toBe("< 0.01 %");
    expect(parseEthInput("0.001")).toBe(parseEther("0.001"));
    expect(parseEthInput(".5")).toBe(parseEther("0.5"));
    expect(parseEthInput("1e3")).toBeUndefined();
    expect(parseEthInput("")).toBeUndefined();
  });

  it("derives a round's status from the ledger's windows", () => {
    const t = { genesisTime: 1_000n, commitWindowSec: 100, challengeWindowSec: 50 };
    const open = { finalized: false, openDisputes: 0 };
    expect(roundStatus(0n, open, 1_099n, t)).toBe("committing");
    expect(roundStatus(0n, open, 1_100n, t)).toBe("challengeable");
    expect(roundStatus(0n, open, 1_150n, t)).toBe("finalizable");
    expect(roundStatus(0n, { ...open, openDisputes: 1 }, 1_150n, t)).toBe("disputed");
    expect(roundStatus(0n, { ...open, finalized: true }, 1_150n, t)).toBe("final");
  });
});
