// The app server's pieces that need no chain: loss reports as a devnet writes them, the devnet's
// labelled dev keys, and the refusal to hand dev keys to a page for any chain but 31337.
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { devnetDevKeys, networkDevKeys } from "../../app/server/devnetKeys.ts";
import { readLossReports } from "../../app/server/lossReports.ts";
import { startApp } from "../../app/server/startApp.ts";
import { devKey } from "../../scripts/lib/devnet/accounts.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";

const token = "0x2011E4bb31BdeC1090e77ce9c7EB5A6f4610F8eb";
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("loss reports", () => {
  it("reads every run's summary.json (newest first) and named files, skipping what is not a report", async () => {
    const runs = await mkdtemp(path.join(tmpdir(), "shardholder-loss-"));
    dirs.push(runs);
    const write = async (name: string, body: unknown, mtime: number) => {
      await mkdir(path.join(runs, name), { recursive: true });
      const file = path.join(runs, name, "summary.json");
      await writeFile(file, typeof body === "string" ? body : JSON.stringify(body));
      await utimes(file, mtime, mtime);
      return file;
    };
    // A devnet summary: bigints as strings, `loss` undefined for a round no stage reported.
    await write(
      "2026-01-01",
      { chainId: 31337, modelId: "1", token, rounds: [{ round: "0", loss: 4.1 }, { round: "1" }, { round: "2", loss: 3.5 }], wallMs: 1 },
      1_000,
    );
    await write(
      "2026-01-02",
      {
        chainId: 31337,
        modelId: 1,
        token,
        rounds: [
          { round: 0, loss: 3.9, evalLoss: 3.7 },
          { round: 1, loss: 3.6, evalLoss: "n/a" },
        ],
      },
      2_000,
    );
    await write("broken", "{ not json", 3_000);
    await write("other", { hello: "world" }, 3_000);
    await mkdir(path.join(runs, "no-summary"));
    const extra = path.join(runs, "extra.json");
    await writeFile(extra, JSON.stringify({ chainId: 1, modelId: "7", token, rounds: [] }));
    await utimes(extra, 500, 500);
    const reports = await readLossReports({ runsDir: runs, files: [extra] });
    expect(reports.map((r) => [r.source.split(path.sep).slice(-2).join("/"), r.modelId, r.rounds])).toEqual([
      [
        "2026-01-02/summary.json",
        "1",
        [
          { round: "0", loss: 3.9, evalLoss: 3.7 },
          { round: "1", loss: 3.6 },
        ],
      ],
      [
        "2026-01-01/summary.json",
        "1",
        [
          { round: "0", loss: 4.1 },
          { round: "2", loss: 3.5 },
        ],
      ],
      [`${path.basename(runs)}/extra.json`, "7", []],
    ]);
    expect(await readLossReports({ runsDir: path.join(runs, "missing") })).toEqual([]);
  });
});

describe("dev keys", () => {
  it("names the devnet's accounts by role", () => {
    const keys = devnetDevKeys(3);
    expect(keys.map((k) => k.label)).toEqual([
      "designer (deployer, relayer)",
      "miner, stage 0 (its own payout)",
      "miner, stage 1 (its own payout)",
      "miner, stage 2 (its own payout)",
      "replica of stage 2 (killed and restarted)",
      "replica of stage 2 (joins later)",
      "dapp client 0",
      "dapp client 1",
      "validator of stage 0 (auditor)",
      "validator of stage 1 (auditor)",
      "validator of stage 2 (auditor)",
      "committee validator of stage 0",
      "committee validator of stage 1",
      "committee validator of stage 2",
      "cheating replica",
    ]);
    expect(keys[1]?.key).toBe(devKey(1));
    expect(devnetDevKeys(3, { cheater: false }).map((k) => k.label)).not.toContain("cheating replica"); // --no-cheater
    expect(privateKeyToAccount(keys[0]?.key ?? "0x").address).toBe("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  });

  it("from a network file: by role, skipping entries without a well-formed key", () => {
    const devKeys = {
      note: "…",
      deployer: { key: devKey(0) },
      miners: [{ key: devKey(1) }, { key: "0x12" }, null],
      signingKeys: [{ key: devKey(100) }],
      clients: "nope",
      validators: [{ address: token }],
    };
    expect(networkDevKeys(devKeys)).toEqual([
      { key: devKey(0), label: "designer (deployer, relayer)" },
      { key: devKey(1), label: "miner, stage 0 (its own payout)" },
    ]);
    expect(networkDevKeys(undefined)).toEqual([]);
    expect(networkDevKeys({})).toEqual([]);
  });

  it("are never handed to a page for a chain other than 31337", async () => {
    const book: Deployments = {
      chainId: 1,
      contracts: {
        modelRegistry: token,
        modelTokenImplementation: token,
        computeLedger: token,
        inferenceEscrow: token,
        revenueClaimer: token,
        servingDirectory: token,
        stageDirectory: token,
      },
      deployedAtBlock: 0,
    };
    await expect(startApp({ rpcUrl: "http://127.0.0.1:8545", deployments: book, port: 0, devKeys: [devKey(0)] })).rejects.toThrow(
      "dev keys are offered only on chain 31337",
    );
  });
});
