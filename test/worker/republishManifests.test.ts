// A miner killed after its commitment landed and before it published the round's items manifest
// must serve that manifest after its restart (bench:chaos found it: the validator demanded the
// leaves on-chain, and the restarted miner, which resumes past the round, had nothing to answer).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { republishManifests } from "../../worker/cli/train.ts";
import { commitRound, journalMicrobatch, signBuiltCommitments } from "../../worker/commit/commitment.ts";
import { Journal, replay, saveCheckpoint } from "../../worker/journal/index.ts";
import { ContentStore, decodeManifest } from "../../worker/p2p/content.ts";
import { directoryContentBackend } from "../../worker/p2p/contentDisk.ts";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("republishManifests", () => {
  it("test_restart_servesTheManifestOfACommittedRoundThatWasNeverPublished", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "republish-"));
    dirs.push(dir);
    const who = { modelId: 1n, stage: 1, worker: privateKeyToAccount(generatePrivateKey()).address };
    const journal = await Journal.open(dir, who);
    const weights = new Float32Array(8).fill(0.125);
    const hash = (k: number) => `0x${k.toString(16).padStart(64, "0")}` as const;
    for (const round of [3n, 12n]) {
      await saveCheckpoint(journal, { round, step: -1, weights });
      const neighbours = { upstream: who.worker, downstream: zeroAddress };
      await journalMicrobatch(journal, {
        round,
        step: 0,
        record: {
          index: 0,
          inputActHash: hash(Number(round)),
          outputActHash: hash(2),
          upstreamGradHash: hash(3),
          inputGradHash: hash(4),
          parameterGradient: weights,
          weightsRoot: hash(5),
        },
        neighbours,
      });
      await journal.append({ type: "step", round, step: 0, tokens: 0, microbatches: 1, neighbours });
      await saveCheckpoint(journal, { round, step: 0, weights });
      await commitRound(journal, { ...who, round, expectedItems: 1 });
    }
    await signBuiltCommitments(journal, privateKeyToAccount(generatePrivateKey()), { ledger: who.worker, chainId: 31337 });
    // The restarted process: its store on disk has no manifest of either round.
    const store = new ContentStore({ backend: directoryContentBackend(path.join(dir, "content")), keepRounds: 8 });
    republishManifests(journal, store);
    const commitments = [...replay(journal.records).commitments.values()];
    const of = (round: bigint) => commitments.find((c) => c.commitment.round === round)?.commitment.itemsRoot as `0x${string}`;
    const served = store.get("items", of(12n));
    expect(served && decodeManifest(served).commitment.round).toBe(12n);
    // Round 3 is more than 8 rounds behind the newest: past every audit, not served again.
    expect(store.get("items", of(3n))).toBeUndefined();
    // Idempotent: a second start writes nothing new.
    republishManifests(journal, store);
    expect(store.size).toBe(1);
    await journal.close();
  });
});
