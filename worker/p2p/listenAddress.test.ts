import { describe, expect, it } from "vitest";
import { loopbackDialAddress, NoLoopbackAddressError } from "./listenAddress.ts";

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
