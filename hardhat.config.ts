import { createRequire } from "node:module";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

/** Reads a positive integer from the environment, so a deep local fuzz run is one variable away. */
function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number.parseInt(raw, 10);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

export default defineConfig({
  plugins: [hardhatToolboxViem],
  solidity: {
    // solc comes from the npm `solc` package (wasm): no compiler download on this machine kind.
    version: "0.8.28",
    path: require.resolve("solc/soljson.js"),
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
    },
  },
  paths: {
    sources: "./contracts",
    tests: { solidity: "./contracts/test", nodejs: "./test/hardhat" },
  },
  test: {
    solidity: {
      fuzz: { runs: envInt("FUZZ_RUNS", 256), seed: process.env.FUZZ_SEED ?? "0x5348" },
      invariant: { runs: envInt("INVARIANT_RUNS", 32), depth: envInt("INVARIANT_DEPTH", 64), failOnRevert: false },
    },
  },
  networks: {
    localhost: { type: "http", chainType: "l1", url: process.env.SHARDHOLDER_RPC ?? "http://127.0.0.1:8545" },
  },
});
