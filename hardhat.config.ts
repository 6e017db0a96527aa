import { createRequire } from "node:module";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";
import { defineConfig } from "hardhat/config";
import type { SolidityCompilerUserConfig } from "hardhat/types/config";

const require = createRequire(import.meta.url);

/** Reads a positive integer from the environment, so a deep local fuzz run is one variable away. */
function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number.parseInt(raw, 10);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const solcPath = require.resolve("solc/soljson.js");
const optimized = { evmVersion: "cancun", optimizer: { enabled: true, runs: 200 } };
// Runs 200 keeps ComputeLedger under the EIP-170 size limit.
// Test files that compile in solc jobs of their own (see `overrides` below), one group per job.
const TEST_JOBS = [
  ["contracts/test/ComputeLedgerCommit.t.sol", "contracts/test/ComputeLedgerRewards.t.sol", "contracts/test/ComputeLedgerStaking.t.sol"],
  [
    "contracts/test/InferenceEscrow.t.sol",
    "contracts/test/InferenceEscrowPipelines.t.sol",
    "contracts/test/ModelRegistry.t.sol",
    "contracts/test/ModelToken.t.sol",
    "contracts/test/RevenueClaimer.t.sol",
    "contracts/test/ServingDirectory.t.sol",
  ],
  ["contracts/test/ComputeLedgerDisputes.t.sol"],
  ["contracts/test/ComputeLedgerInvariant.t.sol"],
  ["contracts/test/ComputeLedgerAttacks.t.sol"],
  ["contracts/test/ComputeLedgerReplicas.t.sol"],
  ["contracts/test/ComputeLedgerLinkReceipts.t.sol"],
  ["contracts/test/ComputeLedgerStages.t.sol", "contracts/test/StageDirectory.t.sol"],
  ["contracts/test/InferenceEscrowInvariant.t.sol", "contracts/test/ModelTokenInvariant.t.sol", "contracts/test/ModelTokenFuzz.t.sol"],
  ["contracts/test/InferenceEscrowServing.t.sol"],
  ["contracts/test/ComputeLedgerServing.t.sol"],
];

const GAS_TESTS = [
  "contracts/test/ComputeLedgerGas.t.sol",
  "contracts/test/ModelTokenGas.t.sol",
  "contracts/test/InferenceEscrowGas.t.sol",
];
// Test helper contracts (not tests themselves) under contracts/test: compiled apart from the deployed ones.
const TEST_HELPERS = [
  "contracts/test/attacks/CaptureOrRevertChallenger.sol",
  "contracts/test/economy/EconomyBase.sol",
  "contracts/test/economy/EscrowActors.sol",
  "contracts/test/economy/GasMeter.sol",
  "contracts/test/economy/MockServingLedger.sol",
  "contracts/test/economy/PipelineConsents.sol",
  "contracts/test/economy/PlainERC20.sol",
  "contracts/test/economy/ReentrantClaimer.sol",
  "contracts/test/ledger/LedgerActors.sol",
  "contracts/test/ledger/LedgerTestBase.sol",
  "contracts/test/ledger/ReplicaRoundTestBase.sol",
  "contracts/test/ledger/ServingEscrowStub.sol",
];

export default defineConfig({
  plugins: [hardhatToolboxViem],
  solidity: {
    // solc comes from the npm `solc` package (wasm): no compiler download on this machine kind.
    compilers: [{ version: "0.8.28", path: solcPath, settings: optimized }],
    // The wasm solc fails ("memory access out of bounds", or a bare abort) on a job holding too
    // many files (a clean compile of two jobs did, once the real-ledger fulfil gas test was added;
    // the default job did once it held the deployed contracts plus two tests), and Hardhat puts
    // all files with one compiler config in one job: every test gets a config that differs only
    // in the optimizer's runs (no effect on behaviour) so it compiles in a job of its own group,
    // and the default job holds the deployed contracts alone. Only a clean compile shows it.
    overrides: Object.fromEntries<SolidityCompilerUserConfig>([
      ...TEST_JOBS.flatMap((files, job) =>
        files.map(
          (file) =>
            [
              file,
              { version: "0.8.28", path: solcPath, settings: { ...optimized, optimizer: { enabled: true, runs: 201 + job } } },
            ] as const,
        ),
      ),
      // Gas tests must compile exactly as deployed: they get a config that only spells out a default
      // (revert strings kept), which makes a job of its own with the same code (only the metadata
      // hash differs). Test helpers get another such job, so the deployed contracts' job stays small.
      ...GAS_TESTS.map(
        (file) => [file, { version: "0.8.28", path: solcPath, settings: { ...optimized, debug: { revertStrings: "default" } } }] as const,
      ),
      ...TEST_HELPERS.map(
        (file) => [file, { version: "0.8.28", path: solcPath, settings: { ...optimized, metadata: { bytecodeHash: "ipfs" } } }] as const,
      ),
    ]),
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
