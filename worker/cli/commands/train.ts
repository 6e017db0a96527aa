// `shardholder train`: one pipeline stage of a model, committed and submitted each round, and its
// rewards finalized and minted once the rounds' windows pass (the wiring is in ../train.ts).
import { type Command, Option } from "commander";
import { requireAccount, requireSigner, workerPreflight } from "../context.ts";
import { positiveInt, smallInt, uint } from "../parse.ts";

export type TrainOptions = {
  model: bigint;
  stage: number;
  spec: string;
  peer?: string | undefined;
  listen: string;
  journal: string;
  rounds: bigint;
  untilRound?: bigint | undefined;
  schedule: "1f1b" | "gpipe";
  wire: "int8" | "float32";
  dialAttempts: bigint;
  peerTimeout: number;
  reconnectAttempts: bigint;
  pollMs: number;
  keepServing?: boolean | undefined;
  contentRounds: bigint;
  /** `--no-rewards` sets it false. */
  rewards: boolean;
  rewardsGrace: bigint;
  swarm?: boolean | undefined;
};

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("train one pipeline stage of a model, commit and submit its work each round, finalize and mint its rewards")
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption("--stage <index>", "stage index (0-based)", smallInt("--stage"))
    .requiredOption("--spec <file>", "the model's canonical spec JSON (must hash to the registered specHash)")
    .option(
      "--peer <multiaddr>",
      "next stage's multiaddr (stage s+1); default: the newest miner of stage s+1 in the on-chain stage directory",
    )
    .option("--listen <multiaddr>", "listen address for the previous stage", "/ip4/127.0.0.1/tcp/0")
    .option("--journal <dir>", "journal directory (crash-safe state)", "shardholder-state")
    .addOption(new Option("--rounds <n>", "rounds to train, from the model's current round").argParser(uint("--rounds")).default(1n, "1"))
    .addOption(new Option("--schedule <name>", "microbatch schedule").choices(["1f1b", "gpipe"]).default("1f1b"))
    .addOption(new Option("--wire <format>", "tensor format on the wire").choices(["int8", "float32"]).default("int8"))
    .addOption(
      new Option("--dial-attempts <n>", "attempts to reach the next stage (exponential backoff)")
        .argParser(uint("--dial-attempts"))
        .default(8n, "8"),
    )
    .addOption(
      new Option(
        "--until-round <n>",
        "train through this round instead of --rounds (a restart with the same flags finishes the same work)",
      ).argParser(uint("--until-round")),
    )
    .addOption(
      new Option("--peer-timeout <sec>", "fail a link whose neighbour sends or reads nothing for this long")
        .argParser(positiveInt("--peer-timeout"))
        .default(300, "300"),
    )
    .addOption(
      new Option("--reconnect-attempts <n>", "reconnects after a neighbour stage is lost mid-run (backoff 0.5 s doubling to 8 s)")
        .argParser(uint("--reconnect-attempts"))
        .default(8n, "8"),
    )
    .addOption(
      new Option("--poll-ms <n>", "chain polling interval (commit windows, availability demands, rewards)")
        .argParser(positiveInt("--poll-ms"))
        .default(2000, "2000"),
    )
    .option(
      "--keep-serving",
      "after the last round, keep serving the committed content to validators and settling rewards until SIGINT/SIGTERM",
    )
    .addOption(
      new Option(
        "--content-rounds <n>",
        "rounds of committed content kept for validators besides the current one (on disk in <journal>/content)",
      )
        .argParser(uint("--content-rounds"))
        .default(8n, "8"),
    )
    .option("--no-rewards", "do not finalize rounds or mint this worker's rewards (someone else does)")
    .option(
      "--swarm",
      "the last stage may have replicas: on the stage before it, route microbatches across every miner of the last stage in the stage directory; on the last stage, train as one replica and combine weights with the others each round",
    )
    .addOption(
      new Option(
        "--rewards-grace <sec>",
        "seconds a round stays finalizable or mintable before this worker sends the transaction itself (others who settle rounds for everyone go first)",
      )
        .argParser(uint("--rewards-grace"))
        .default(30n, "30"),
    )
    .action(async (options: TrainOptions, command: Command) => {
      const attempts = Number(options.dialAttempts);
      const connected = await workerPreflight(command, {
        modelId: options.model,
        peers: options.peer ? [options.peer] : [],
        attempts,
        signingKey: "required",
        lockAs: `train --model ${options.model} --stage ${options.stage}`,
      });
      const { runTrainCommand } = await import("../train.ts");
      await runTrainCommand({
        logger: connected.logger,
        json: connected.config.json,
        client: connected.chain.client,
        transport: connected.chain.transport,
        deployments: connected.deployments,
        account: requireAccount(connected.config),
        signer: requireSigner(connected.config),
        backend: connected.config.backend,
        modelId: options.model,
        stage: options.stage,
        specPath: options.spec,
        next: options.peer,
        listen: options.listen,
        journalDir: options.journal,
        rounds: Number(options.rounds),
        untilRound: options.untilRound,
        schedule: options.schedule,
        wire: options.wire,
        dialAttempts: attempts,
        peerTimeoutMs: options.peerTimeout * 1000,
        reconnectAttempts: Number(options.reconnectAttempts),
        pollMs: options.pollMs,
        keepServing: options.keepServing,
        contentRounds: Number(options.contentRounds),
        joinPeers: connected.config.network?.peers?.filter((x) => x.modelId === options.model.toString()),
        rewards: options.rewards,
        rewardsGraceMs: Number(options.rewardsGrace) * 1000,
        swarm: options.swarm,
      });
    });
}
