import { describe, expect, it } from "vitest";
import { loopbackDialAddress, NoLoopbackAddressError, spawnLastFirst } from "./listenAddress.ts";

describe("loopbackDialAddress", () => {
  it("picks the first 127.0.0.1 TCP address and keeps its peer id", () => {
    const addrs = ["/ip4/10.0.0.5/tcp/4001/p2p/12D3KooA", "/ip4/127.0.0.1/tcp/41234/p2p/12D3KooA", "/ip4/127.0.0.1/tcp/41235"];
    expect(loopbackDialAddress(addrs, "stage 1")).toBe("/ip4/127.0.0.1/tcp/41234/p2p/12D3KooA");
  });

  it("throws a named error when nothing on loopback was announced", () => {
    expect(() => loopbackDialAddress(["/ip4/10.0.0.5/tcp/4001"], "stage 1")).toThrow(NoLoopbackAddressError);
    expect(() => loopbackDialAddress(undefined, "stage 1")).toThrow(/stage 1 announced no/);
  });
});

describe("spawnLastFirst", () => {
  type Proc = { stage: number; next: string | undefined; killed: boolean; kill(): void };
  const spawned: Proc[] = [];
  const spawn = (stage: number, next: string | undefined): Proc => {
    const proc: Proc = { stage, next, killed: false, kill: () => (proc.killed = true) };
    spawned.push(proc);
    return proc;
  };
  const announce = async (proc: Proc) => [`/ip4/127.0.0.1/tcp/${4000 + proc.stage}/p2p/peer${proc.stage}`];

  it("starts the last stage first and gives each the address the next one announced, in stage order", async () => {
    spawned.length = 0;
    const procs = await spawnLastFirst(3, spawn, announce);
    expect(spawned.map((p) => p.stage)).toEqual([2, 1, 0]);
    expect(procs.map((p) => [p.stage, p.next])).toEqual([
      [0, "/ip4/127.0.0.1/tcp/4001/p2p/peer1"],
      [1, "/ip4/127.0.0.1/tcp/4002/p2p/peer2"],
      [2, undefined],
    ]);
    expect(procs.some((p) => p.killed)).toBe(false);
  });

  it("kills what it started and spawns nothing more when a stage announces nothing usable or the signal aborted", async () => {
    spawned.length = 0;
    await expect(spawnLastFirst(3, spawn, async (p) => (p.stage === 1 ? ["/ip4/10.0.0.1/tcp/1"] : announce(p)))).rejects.toThrow(
      NoLoopbackAddressError,
    );
    expect(spawned.map((p) => [p.stage, p.killed])).toEqual([
      [2, true],
      [1, true],
    ]);
    spawned.length = 0;
    const aborted = new AbortController();
    await expect(spawnLastFirst(3, spawn, async (p) => (aborted.abort(), announce(p)), aborted.signal)).rejects.toThrow();
    expect(spawned.map((p) => [p.stage, p.killed])).toEqual([[2, true]]);
  });
});
