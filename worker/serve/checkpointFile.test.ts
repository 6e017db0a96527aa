import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, keccak256, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import { Journal, saveCheckpoint } from "../journal/index.ts";
import { exportJournalCheckpoint, readStageCheckpoint, StageCheckpointFileError } from "./checkpointFile.ts";
import { loadExportedWeights } from "./weights.ts";

const worker: Address = "0x00000000000000000000000000000000000000AA";
const specHash = keccak256(toHex("spec"));
const weightsOf = (round: number) => Float32Array.from({ length: 5000 }, (_, i) => Math.fround(Math.sin(i + round) * 0.02));
let dir: string;
let journalDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "shardholder-export-"));
  journalDir = path.join(dir, "journal");
  const journal = await Journal.open(journalDir, { modelId: 3n, stage: 1, worker });
  for (const round of [0n, 1n]) {
    await saveCheckpoint(journal, { round, step: -1, weights: weightsOf(Number(round)) });
    await saveCheckpoint(journal, { round, step: 0, weights: weightsOf(Number(round) + 1) });
  }
  // Round 2 started and never finished: nothing of it is exported.
  await saveCheckpoint(journal, { round: 2n, step: -1, weights: weightsOf(2) });
  await journal.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("exported stage checkpoints", () => {
  it("export_newestFinishedRound_carriesTheJournalsIdentity_andReadsBackChecked", async () => {
    const out = path.join(dir, "newest.ckpt");
    const header = await exportJournalCheckpoint({ journalDir, out, specHash });
    expect(header).toMatchObject({
      modelId: "3",
      stage: 1,
      worker,
      round: "1",
      specHash,
      elements: 5000,
      weightsRoot: weightsRoot(weightsOf(2)),
    });
    const read = await readStageCheckpoint(out);
    expect(read.header).toEqual(header);
    expect(read.weights).toEqual(weightsOf(2));
    const served = await loadExportedWeights(out, { modelId: "3", stage: 1, specHash, parameterCount: 5000 });
    expect(served).toMatchObject({ round: 1n, weightsRoot: header.weightsRoot });
  });

  it("export_ofAnEarlierRound_orOneNeverFinished", async () => {
    const out = path.join(dir, "r0.ckpt");
    expect((await exportJournalCheckpoint({ journalDir, out, specHash, round: 0n })).weightsRoot).toBe(weightsRoot(weightsOf(1)));
    await expect(exportJournalCheckpoint({ journalDir, out, specHash, round: 2n })).rejects.toThrow(/no end of round 2/);
    await expect(exportJournalCheckpoint({ journalDir: path.join(dir, "nothing"), out, specHash })).rejects.toBeInstanceOf(
      StageCheckpointFileError,
    );
  });

  it("read_aFlippedWeightByte_orATruncatedFile_isRefused", async () => {
    const out = path.join(dir, "tampered.ckpt");
    await exportJournalCheckpoint({ journalDir, out, specHash });
    const bytes = new Uint8Array(await readFile(out));
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x40;
    await writeFile(out, bytes);
    await expect(readStageCheckpoint(out)).rejects.toThrow(/do not hash to its weightsRoot/);
    await writeFile(out, bytes.subarray(0, bytes.length - 2));
    await expect(readStageCheckpoint(out)).rejects.toThrow(/weight bytes for 5000/);
  });

  it("serve_refusesACheckpointOfAnotherStageModelOrSpec", async () => {
    const out = path.join(dir, "other.ckpt");
    await exportJournalCheckpoint({ journalDir, out, specHash });
    const serving = { modelId: "3", stage: 1, specHash, parameterCount: 5000 };
    await expect(loadExportedWeights(out, { ...serving, stage: 0 })).rejects.toThrow(/stage 1, not 0/);
    await expect(loadExportedWeights(out, { ...serving, modelId: "4" })).rejects.toThrow(/model 3, not 4/);
    await expect(loadExportedWeights(out, { ...serving, specHash: keccak256(toHex("other")) })).rejects.toThrow(/not the served spec/);
    await expect(loadExportedWeights(out, { ...serving, parameterCount: 4999 })).rejects.toThrow(/the stage has 4999/);
  });
});
