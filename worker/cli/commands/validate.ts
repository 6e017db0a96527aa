// `shardholder validate`: audit other workers' rounds and vote in committees (wiring in ../validate.ts).
import { type Command, InvalidArgumentError, Option } from "commander";
import { connect, lockKey, requireAccount } from "../context.ts";
import { UsageError } from "../errors.ts";
import { collect, ether, uint } from "../parse.ts";

export type ValidateOptions = {
  model: bigint;
  stage: bigint;
  moveStage?: boolean | undefined;
  spec: string;
  fraction: number;
  peerOf: string[];
  committeeKey: string[];
  stake?: bigint | undefined;
  fromRound?: bigint | undefined;
  untilRound?: bigint | undefined;
  pollMs: bigint;
  availabilityDeadlineMs: bigint;
};

const fraction = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("must be a number in (0, 1].");
  return n;
};

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("sample other workers' items, re-execute them, attest or challenge; vote in committees")
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption(
      "--stage <s>",
      "the one stage of the model this process validates (every key of it: validators hold one stage, so nobody needs two stages' weights)",
      uint("--stage"),
    )
    .option("--move-stage", "a key that validates another stage leaves it for --stage (otherwise it is refused)")
    .requiredOption("--spec <file>", "the model's canonical spec JSON (a calibrated <spec>.tolerance.json beside it is used)")
    .option("--fraction <share>", "share of each commitment's items re-executed (0-1]", fraction, 0.1)
    .option("--peer-of <worker=multiaddr>", "content server of a worker (repeatable); default: its StageDirectory record", collect, [])
    .option(
      "--committee-key <hex>",
      "extra validator identity in this process that only votes in committees (repeatable; env SHARDHOLDER_COMMITTEE_KEYS, comma-separated)",
      collect,
      [],
    )
    .option("--stake <eth>", "stake and flag as validator any key not staked yet", ether)
    .addOption(new Option("--from-round <n>", "first round to audit (default: current)").argParser(uint("--from-round")))
    .addOption(
      new Option("--until-round <n>", "stop after auditing this round and resolving its disputes").argParser(uint("--until-round")),
    )
    .addOption(new Option("--poll-ms <n>", "chain polling interval").argParser(uint("--poll-ms")).default(2000n, "2000"))
    .addOption(
      new Option(
        "--availability-deadline-ms <n>",
        "how long to retry fetching a worker's manifest before demanding its sampled leaves on-chain",
      )
        .argParser(uint("--availability-deadline-ms"))
        .default(60_000n, "60000"),
    )
    .action(async (options: ValidateOptions, command: Command) => {
      const connected = await connect(command);
      const { checkFunded } = await import("../preflight.ts");
      const { privateKeyToAccount } = await import("viem/accounts");
      const account = requireAccount(connected.config);
      await checkFunded(connected.client, account.address);
      // Keys belong in the environment, not argv (`ps` shows argv).
      const fromEnv = (process.env.SHARDHOLDER_COMMITTEE_KEYS ?? "").split(",").filter(Boolean);
      const committee = [...options.committeeKey, ...fromEnv].map((k) => {
        if (!/^0x[0-9a-fA-F]{64}$/.test(k)) throw new UsageError("--committee-key must be a 32-byte 0x hex key.");
        return privateKeyToAccount(k as `0x${string}`);
      });
      // Every key of this process sends transactions: each is held by this process alone.
      for (const [i, a] of [account, ...committee].entries())
        await lockKey(connected, a.address, `validate --model ${options.model} --stage ${options.stage}${i ? " (committee key)" : ""}`);
      const { parsePeerOf, runValidateCommand } = await import("../validate.ts");
      await runValidateCommand({
        logger: connected.logger,
        client: connected.chain.client,
        transport: connected.chain.transport,
        deployments: connected.deployments,
        accounts: [account, ...committee],
        backend: connected.config.backend,
        modelId: options.model,
        stage: Number(options.stage),
        moveStage: options.moveStage,
        specPath: options.spec,
        peers: parsePeerOf(options.peerOf),
        fraction: options.fraction,
        stakeWei: options.stake ?? 0n,
        fromRound: options.fromRound,
        untilRound: options.untilRound,
        pollMs: Number(options.pollMs),
        availabilityDeadlineMs: Number(options.availabilityDeadlineMs),
      });
    });
}
