import { type Hex, keccak256 } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { NO_SAMPLING, servingOutputsTree, signServingCommitment } from "../../sdk/protocol/serving.ts";
import { encodeCommitmentPayload, readCommitment, ServingFrameRefusedError, type ServingIdentity } from "./servingFrames.ts";
import { commitmentOf, ServingLog } from "./servingRecord.ts";

describe("a stage's serving log", () => {
  it("keeps the newest requests with their payloads by hash, and forgets an evicted request's payloads", () => {
    const log = new ServingLog(2);
    const payload = (i: number) => Uint8Array.of(i, i + 1);
    for (const id of [1n, 2n, 3n]) {
      log.begin(id, 1, keccak256(payload(Number(id))));
      log.served(id, payload(10), payload(Number(id)));
    }
    expect(log.record(1n)).toBeUndefined();
    expect(log.payload(keccak256(payload(1)))).toBeUndefined();
    // The input every request received is still referenced by the two kept requests.
    expect(log.payload(keccak256(payload(10)))).toEqual(payload(10));
    const record = log.record(3n);
    expect(record?.positions).toEqual([{ inputHash: keccak256(payload(10)), outputHash: keccak256(payload(3)) }]);
    const c = commitmentOf(record ?? { positions: [] }, { weightsRoot: keccak256("0x01"), sampling: NO_SAMPLING });
    expect(c).toEqual({
      weightsRoot: keccak256("0x01"),
      sampling: NO_SAMPLING,
      outputsRoot: servingOutputsTree([keccak256(payload(3))]).root,
      positions: 1,
    });
  });

  it("reads a relayed commitment only when its stage's operator signed it over the positions served", async () => {
    const keys = [generatePrivateKey(), generatePrivateKey()];
    const identity: ServingIdentity = {
      account: privateKeyToAccount(keys[0] as Hex),
      stageOperators: keys.map((k) => privateKeyToAccount(k).address),
      context: { escrow: "0x00000000000000000000000000000000000000e5", chainId: 31337 },
      weightsRoot: keccak256("0x00"),
    };
    const c = { weightsRoot: keccak256("0x01"), sampling: keccak256("0x02"), outputsRoot: keccak256("0x03"), positions: 4 };
    const encode = async (signer: Hex) => {
      const signature = await signServingCommitment(privateKeyToAccount(signer), identity.context, 7n, 1, c);
      return { kind: "inferCommitment" as const, round: 7n, microbatch: 1, payload: encodeCommitmentPayload(c, signature) };
    };
    expect((await readCommitment(identity, await encode(keys[1] as Hex), 4)).commitment).toEqual(c);
    await expect(readCommitment(identity, await encode(keys[0] as Hex), 4)).rejects.toBeInstanceOf(ServingFrameRefusedError);
    await expect(readCommitment(identity, await encode(keys[1] as Hex), 5)).rejects.toThrow(/commits 4 positions, 5 were served/);
  });
});
