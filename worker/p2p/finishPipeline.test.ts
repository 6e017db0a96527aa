import type { Libp2p } from "@libp2p/interface";
import { type Hex, keccak256, stringToBytes } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { LinkClosedError } from "./errors.ts";
import { tensorFrameLimits } from "./frames.ts";
import { localPipeAuth } from "./hello.ts";
import { createPipeNode } from "./node.ts";
import { finishPipeline, openPipe, type StagePipe } from "./pipe.ts";

const KEY: Hex = keccak256(stringToBytes("model-finish"));
const nodes: Libp2p[] = [];
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
});

/** Three stages linked over loopback libp2p, in stage order. */
async function threeStages(): Promise<StagePipe[]> {
  const [a, b, c] = await Promise.all([createPipeNode(), createPipeNode(), createPipeNode()]);
  nodes.push(a, b, c);
  const open = async (n: Libp2p, stageIndex: number, nextAddress?: string) =>
    openPipe({
      node: n,
      stageIndex,
      stageCount: 3,
      modelKey: KEY,
      auth: await localPipeAuth(1n),
      limits: tensorFrameLimits([4, 8, 16]),
      nextAddress,
    });
  const addr = (n: Libp2p) => n.getMultiaddrs()[0]?.toString();
  const cSide = open(c, 2);
  const bSide = open(b, 1, addr(c));
  return Promise.all([open(a, 0, addr(b)), bSide, cSide]);
}

describe("finishPipeline: only end markers end a session", () => {
  it("test_finish_noStageLeavesBeforeEveryStageIsDone", async () => {
    const [a, b, c] = await threeStages();
    const left: number[] = [];
    const finishing = [a, b].map((p, s) => finishPipeline(p as StagePipe).then(() => left.push(s)));
    // Stages 0 and 1 are done; stage 2 is still in its last round: nobody may leave yet. The
    // markers are awaited frames, so stage 2's own finish is what lets everyone go.
    await new Promise((r) => setImmediate(r));
    expect(left).toEqual([]);
    await finishPipeline(c as StagePipe);
    await Promise.all(finishing);
    expect(left.sort()).toEqual([0, 1]);
  });

  it("test_finish_aNeighbourThatClosesWithoutItsMarker_isALostPeer_notAFinishedOne", async () => {
    const [, b, c] = await threeStages();
    const waiting = finishPipeline(b as StagePipe);
    // Stage 2 "dies" in its last round: its stream to stage 1 is closed cleanly, with no marker
    // (a killed process's sockets close too). Stage 1 must not take that for done.
    await (c as StagePipe).prev?.stream.close();
    await expect(waiting).rejects.toBeInstanceOf(LinkClosedError);
  });
});
