import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { getAddress, zeroAddress } from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../test/sdk/fixture.ts";
import { getModel } from "../actions/models/getModel.ts";
import { InvalidDeploymentsError, NoDeploymentError, NotOurContractError } from "../errors/sdk.ts";
import { modelTokenAbi } from "../abi/modelToken.ts";
import { codeMismatch, verifyDeployments } from "./verify.ts";
import { loadDeployments } from "./node.ts";
import { parseDeployments, selectDeployments } from "./parse.ts";

describe("address book", () => {
  let s: Shardholder;
  beforeAll(async () => {
    s = await deployShardholder();
  });

  it("round-trips through a file in the deploy script's format and checksums addresses", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "shardholder-deployments-"));
    const lower = {
      ...s.deployments,
      contracts: Object.fromEntries(Object.entries(s.deployments.contracts).map(([k, v]) => [k, v.toLowerCase()])),
    };
    await writeFile(path.join(dir, `${s.deployments.chainId}.json`), JSON.stringify(lower));
    const loaded = await loadDeployments({ chainId: s.deployments.chainId, dir });
    expect(loaded.contracts.computeLedger).toBe(getAddress(s.deployments.contracts.computeLedger));
    await expect(loadDeployments({ chainId: 5, dir })).rejects.toBeInstanceOf(NoDeploymentError);
  });

  it("rejects malformed address books with the reason", () => {
    expect(() => parseDeployments({ chainId: 1, contracts: {} }, "x.json")).toThrow(InvalidDeploymentsError);
    expect(() => parseDeployments({ chainId: 1, contracts: {} }, "x.json")).toThrow(/contracts.modelRegistry/);
    expect(() => parseDeployments([], "x.json")).toThrow(/not a JSON object/);
    expect(() => parseDeployments({ ...s.deployments, chainId: -1 })).toThrow(/chainId/);
  });

  it("throws NoDeploymentError when the client's chain has no address book", async () => {
    const other = { ...s.deployments, chainId: 11155111 };
    expect(() => selectDeployments([other], 31337)).toThrow(NoDeploymentError);
    const err = await getModel(s.publicClient, { deployments: other, modelId: 1n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoDeploymentError);
    expect((err as NoDeploymentError).shortMessage).toBe("Shardholder is not deployed on chain 31337 (no address book for it).");
    expect((err as Error).message).toMatch(/Address books loaded for chains: 11155111/);
    expect(selectDeployments({ 1: other, 2: s.deployments }, 31337)).toBe(s.deployments);
  });

  it("accepts the real deployment and rejects addresses whose code is not ours", async () => {
    await verifyDeployments(s.publicClient, s.deployments);
    const swapped = { ...s.deployments, contracts: { ...s.deployments.contracts, computeLedger: s.deployments.contracts.inferenceEscrow } };
    const err = await verifyDeployments(s.publicClient, swapped).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotOurContractError);
    expect((err as NotOurContractError).contract).toBe("ComputeLedger");
    const empty = { ...s.deployments, contracts: { ...s.deployments.contracts, revenueClaimer: accountAt(s, 3) } };
    await expect(verifyDeployments(s.publicClient, empty)).rejects.toThrow(/no code/);
    expect(codeMismatch("0x", modelTokenAbi)).toMatch(/no code/);
    expect(codeMismatch(undefined, modelTokenAbi)).toMatch(/no code/);
  });

  it("drives actions with an address book picked by chain id from several", async () => {
    const client = s.wallets[0];
    if (!client) throw new Error("no wallet");
    const several = [
      { ...s.deployments, chainId: 1, contracts: { ...s.deployments.contracts, modelRegistry: zeroAddress } },
      s.deployments,
    ];
    await actionsOf(s, 0).registerModel({ spec: testSpec() });
    expect((await getModel(client, { deployments: several, modelId: 1n })).stageCount).toBe(2);
  });
});
