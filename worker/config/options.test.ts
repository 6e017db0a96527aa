import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors.ts";
import { resolveGlobalConfig } from "./options.ts";

describe("global options", () => {
  it("resolveGlobalConfig_rpcRepeatedOrCommaSeparated_keepsEveryEndpointInOrder", () => {
    expect(resolveGlobalConfig({ rpc: ["http://a:8545", "https://b.example/rpc"] }).rpcUrls).toEqual([
      "http://a:8545/",
      "https://b.example/rpc",
    ]);
    expect(resolveGlobalConfig({}, { SHARDHOLDER_RPC: "http://a:8545, http://c:8545" })).toMatchObject({
      rpcUrl: "http://a:8545/",
      rpcUrls: ["http://a:8545/", "http://c:8545/"],
    });
    // A flag wins over the environment; no flag and no environment: the local default.
    expect(resolveGlobalConfig({ rpc: "http://a:8545" }, { SHARDHOLDER_RPC: "http://c:8545" }).rpcUrls).toEqual(["http://a:8545/"]);
    expect(resolveGlobalConfig({ rpc: [] }).rpcUrls).toEqual(["http://127.0.0.1:8545/"]);
    expect(() => resolveGlobalConfig({ rpc: ["http://a:8545", "ws://b:8546"] })).toThrow(ConfigError);
  });
});
