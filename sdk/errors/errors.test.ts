import { type AbiParameter, encodeErrorResult, type Hex, keccak256, parseEther, toHex, zeroAddress } from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import { actionsOf, deployShardholder, type Shardholder, testSpec } from "../../test/sdk/fixture.ts";
import { protocolAbis } from "../abi/index.ts";
import { ContractRevertError, UnknownRevertError } from "./contract.ts";
import { contractErrorClasses, ModelRegistryFeeSplitTooHighError, ModelTokenZeroRecipientError } from "./contractErrors.ts";
import { BaseError } from "./base.ts";
import { decodeProtocolRevert, toShardholderError } from "./index.ts";

/** A sample value of an ABI type, as viem decodes it. */
function sample(p: AbiParameter, k: number): unknown {
  const array = /^(.*)\[(\d*)\]$/.exec(p.type);
  if (array)
    return [sample({ ...p, type: array[1] as string }, k), sample({ ...p, type: array[1] as string }, k + 1)].slice(
      0,
      array[2] ? Number(array[2]) : 2,
    );
  if (p.type === "address") return `0x${(k + 1).toString(16).padStart(40, "0")}`;
  if (p.type === "bool") return k % 2 === 0;
  if (p.type === "string") return `s${k}`;
  if (p.type === "bytes") return "0xabcd";
  const bytes = /^bytes(\d+)$/.exec(p.type);
  if (bytes) return `0x${"ab".repeat(Number(bytes[1]))}`;
  const int = /^u?int(\d+)$/.exec(p.type);
  if (int) return Number(int[1]) <= 48 ? k + 3 : BigInt(k + 3);
  throw new Error(`no sample for ${p.type}`);
}

const allErrors = protocolAbis.flatMap(({ name, abi }) =>
  abi.filter((item) => item.type === "error").map((item) => ({ contract: name, abi, item })),
);

describe("contract error decoding", () => {
  it("has a named class for every custom error of every protocol ABI", () => {
    expect(allErrors.length).toBeGreaterThan(80);
    for (const { item } of allErrors) expect(contractErrorClasses[item.name], item.name).toBeDefined();
  });

  it("decodes every custom error's revert data into its class with its arguments", () => {
    for (const { abi, item } of allErrors) {
      const args = item.inputs.map((p, k) => sample(p, k));
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: without it encodeErrorResult infers from the ABI union and tsc fails
      const raw = encodeErrorResult({ abi, errorName: item.name, args } as Parameters<typeof encodeErrorResult>[0]);
      expect(decodeProtocolRevert(raw)?.errorName).toBe(item.name);
      const err = toShardholderError(Object.assign(new Error("reverted"), { raw }));
      expect(err, item.name).toBeInstanceOf(contractErrorClasses[item.name] as new (...a: never[]) => unknown);
      expect(err).toBeInstanceOf(ContractRevertError);
      expect(err).toBeInstanceOf(BaseError);
      const typed = err as ContractRevertError;
      expect(typed.name).toBe(`${item.name}Error`);
      expect(typed.args).toEqual(args);
      expect(typed.shortMessage).toMatch(/reverted: [a-z0-9 ]+/);
    }
  });

  it("wraps revert data no ABI explains, and leaves unrelated errors alone", () => {
    const raw: Hex = "0xdeadbeef00";
    expect(toShardholderError(Object.assign(new Error("x"), { cause: { data: raw } }))).toBeInstanceOf(UnknownRevertError);
    const plain = new Error("network down");
    expect(toShardholderError(plain)).toBe(plain);
  });

  describe("from real reverts", () => {
    let s: Shardholder;
    beforeAll(async () => {
      s = await deployShardholder();
      await actionsOf(s, 0).registerModel({ spec: testSpec() });
    });

    it("types a registry validation error with a readable message", async () => {
      const err = await actionsOf(s, 0)
        .registerModel({ spec: testSpec({ protocolFeeBps: 500, operatorFeeBps: 9600 }) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelRegistryFeeSplitTooHighError);
      expect((err as ModelRegistryFeeSplitTooHighError).args).toEqual([500, 9600]);
      expect((err as Error).message).toContain("ModelRegistry reverted: fee split too high (500, 9600).");
    });

    it("types a model token error raised through claimRevenue", async () => {
      await expect(actionsOf(s, 3).claimRevenue({ modelId: 1n, to: zeroAddress })).rejects.toBeInstanceOf(ModelTokenZeroRecipientError);
    });

    it("keeps the viem error as the cause", async () => {
      const err = (await actionsOf(s, 0)
        .requestInference({ modelId: 1n, pipelineKey: keccak256(toHex("any pipeline")), input: "x", feeWei: parseEther("0.0001") })
        .catch((e: unknown) => e)) as BaseError;
      expect((err.cause as Error).name).toBe("ContractFunctionExecutionError");
      // walk() follows the chain to viem's innermost error (the node's revert), and finds a link by predicate
      const innermost = err.walk() as Error;
      expect(innermost).not.toBe(err);
      expect((innermost as { cause?: unknown }).cause).toBeUndefined();
      expect(err.walk((e) => e instanceof Error && e.name === "ContractFunctionExecutionError")).toBe(err.cause);
      expect(err.walk((e) => e instanceof Error && e.name === "NoSuchError")).toBeNull();
    });
  });
});
