import { encodeAbiParameters, keccak256, parseAbiParameters } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { hashPipelineConsent, pipelineKey, recoverPipelineConsentSigner, signPipelineConsent } from "./pipelineConsent.ts";

const op0 = privateKeyToAccount("0x0000000000000000000000000000000000000000000000000000000000000a11");
const op1 = privateKeyToAccount("0x0000000000000000000000000000000000000000000000000000000000000b22");
const escrow = "0x000000000000000000000000000000000000c0de" as const;

describe("pipeline consent (docs/PROTOCOL.md, Pipelines and consent)", () => {
  it("keys a pipeline as keccak256(abi.encode(uint64 modelId, address[] stageOperators))", () => {
    const ops = [op0.address, op1.address, op0.address];
    expect(pipelineKey(3n, ops)).toBe(keccak256(encodeAbiParameters(parseAbiParameters("uint64, address[]"), [3n, ops])));
    expect(pipelineKey(3n, ops)).not.toBe(pipelineKey(3n, [op1.address, op0.address, op0.address]));
  });

  it("signs a consent that recovers to the operator and binds model, operators, deadline, escrow and chain", async () => {
    const consent = { modelId: 1n, stageOperators: [op0.address, op1.address], deadline: 1_000n };
    const signature = await signPipelineConsent(op1, { escrow, chainId: 31337, consent });
    expect(await recoverPipelineConsentSigner({ escrow, chainId: 31337, consent, signature })).toBe(op1.address);
    const digest = hashPipelineConsent({ escrow, chainId: 31337, consent });
    for (const other of [
      hashPipelineConsent({ escrow, chainId: 31337, consent: { ...consent, deadline: 1_001n } }),
      hashPipelineConsent({ escrow, chainId: 31337, consent: { ...consent, modelId: 2n } }),
      hashPipelineConsent({ escrow, chainId: 31337, consent: { ...consent, stageOperators: [op1.address, op0.address] } }),
      hashPipelineConsent({ escrow: "0x000000000000000000000000000000000000c0df", chainId: 31337, consent }),
      hashPipelineConsent({ escrow, chainId: 1, consent }),
    ])
      expect(other).not.toBe(digest);
  });
});
