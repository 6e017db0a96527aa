import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { Logger } from "pino";
import type { PublicClient, Transport } from "viem";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { ConfigError } from "../config/errors.ts";
import type { GlobalConfig, RawGlobalOptions } from "../config/options.ts";
import { installNetworkDefaults } from "../config/commandDefaults.ts";
import { CliError, ExitCode, MissingKeyError, PeerLostError, PeerSilentError, UsageError } from "./errors.ts";
import { registerChainCommand, runScript, scriptArgs } from "./scripts.ts";

// Only commander and the error classes load eagerly: viem alone takes seconds to import on a
// busy machine, and `--help` or a bad flag must answer at once.

const uint = (what: string) => (value: string): bigint => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${what} must be a non-negative integer.`);
  return BigInt(value);
};
const smallInt = (what: string) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) > 0xffff) throw new InvalidArgumentError(`${what} must be an integer from 0 to 65535.`);
  return Number(value);
};
const ether = (value: string): bigint => {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(value);
  const wei = match ? BigInt(match[1] as string) * 10n ** 18n + BigInt((match[2] ?? "").padEnd(18, "0")) : 0n;
  if (wei <= 0n) throw new InvalidArgumentError("must be a positive amount of ETH, e.g. 1.5.");
  return wei;
};
const address = (value: string) => {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new InvalidArgumentError("must be a 0x address.");
  return value;
};
const positiveInt = (what: string) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${what} must be a positive integer.`);
  return Number(value);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];
/** `host:port` (port 0..65535) for a listening socket. */
function parseHostPort(value: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65_535) throw new UsageError(`--http must be <host>:<port>, got "${value}".`);
  return { host: match[1] as string, port };
}

/**
 * What every chain-facing command has checked before it runs. `client` fails fast (the
 * preflight's); `chain` is the long-lived processes' ({@link rpcTransport}: fallback over every
 * `--rpc`, retries with backoff, a stall waited out with a log line).
 */
type Connected = {
  config: GlobalConfig;
  logger: Logger;
  client: PublicClient;
  chainId: number;
  deployments: Deployments;
  chain: { client: PublicClient; transport: Transport };
};

async function connect(command: Command): Promise<Connected> {
  const { resolveGlobalConfig } = await import("../config/options.ts");
  const { createLogger } = await import("./output.ts");
  const { checkRpcs, loadAddressBook } = await import("./preflight.ts");
  const raw = command.optsWithGlobals<RawGlobalOptions>();
  const config = resolveGlobalConfig(raw, process.env);
  const logger = createLogger({ json: config.json });
  const { client, chainId, url } = await checkRpcs(config.rpcUrls);
  const deployments = await loadAddressBook(config.deployments, chainId);
  logger.info({ chainId, rpc: url, fallbacks: config.rpcUrls.length - 1, computeLedger: deployments.contracts.computeLedger }, "connected");
  const { createPublicClient } = await import("viem");
  const { rpcTransport } = await import("../rpc/transport.ts");
  const transport = rpcTransport({
    urls: config.rpcUrls,
    onRetry: ({ method, attempt, delayMs, failingForMs, error }) =>
      logger.warn({ method, attempt, retryInMs: delayMs, failingForS: Math.round(failingForMs / 1000), error: (error as { shortMessage?: string }).shortMessage ?? error.message }, "chain not answering; retrying"),
  });
  return { config, logger, client, chainId, deployments, chain: { client: createPublicClient({ transport }), transport } };
}

function requireAccount(config: GlobalConfig) {
  if (!config.account) throw new MissingKeyError({ option: "--key", env: "SHARDHOLDER_KEY" });
  return config.account;
}

function requireSigner(config: GlobalConfig) {
  if (!config.signer) throw new MissingKeyError({ option: "--signing-key", env: "SHARDHOLDER_SIGNING_KEY" });
  return config.signer;
}

/** Preflight of the stage-worker commands: key funded and staked, signing key registered, peers up. */
async function workerPreflight(command: Command, peers: string[], attempts = 5): Promise<Connected> {
  const connected = await connect(command);
  const { checkFunded, checkPeers, checkStaked } = await import("./preflight.ts");
  const account = requireAccount(connected.config);
  const signer = requireSigner(connected.config);
  await checkFunded(connected.client, account.address);
  const staker = await checkStaked(connected.client, connected.deployments, account.address, signer.address);
  connected.logger.info({ worker: account.address, stakeWei: staker.stakeWei.toString(), payout: staker.payout }, "staked");
  await checkPeers(peers, {
    attempts,
    onRetry: ({ address: peer, attempt, delayMs }) => connected.logger.warn({ peer, attempt, retryInMs: delayMs }, "peer not answering, retrying"),
  });
  return connected;
}

/**
 * The `shardholder` program. Subcommands parse, run the preflight checks, and call modules.
 *
 * @example
 * await buildProgram().parseAsync(process.argv)
 */
export function buildProgram(): Command {
  const program = new Command("shardholder")
    .description("Shardholder worker: stake, train a pipeline stage, serve inference, validate.")
    .option("--rpc <url>", "JSON-RPC endpoint; repeat for fallbacks, tried in order (env SHARDHOLDER_RPC, comma-separated)", collect)
    .option("--deployments <path>", "address book: a <chainId>.json file or a directory of them (env SHARDHOLDER_DEPLOYMENTS)")
    .option("--key <hex>", "worker key: stakes, sends transactions (env SHARDHOLDER_KEY)")
    .option("--signing-key <hex>", "commitment signing key, not the payout key (env SHARDHOLDER_SIGNING_KEY)")
    .addOption(new Option("--backend <name>", "tfjs backend (default: best available)").choices(["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"]))
    .option("--json", "structured JSON logs (pino) on stdout")
    .option("--network <file>", "a running network's network.json (from `devnet --keep-running`): fills --rpc, --deployments, --model, --spec; flags win")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  installNetworkDefaults(program, { resolveSpec: async (p) => (await import("./specFetch.ts")).resolveSpecForCommand(p) });
  registerChainCommand(program);

  program
    .command("stake")
    .description("stake ETH in the compute ledger and register the payout address and signing key")
    .requiredOption("--amount <eth>", "stake to add, in ETH", ether)
    .option("--payout <address>", "address that receives rewards (default: the --key address)", address)
    .action(async (options: { amount: bigint; payout?: string }, command: Command) => {
      const { config, logger, client, deployments } = await connect(command);
      const { checkFunded } = await import("./preflight.ts");
      const account = requireAccount(config);
      const signer = requireSigner(config);
      await checkFunded(client, account.address, options.amount);
      const { createWalletClient, http } = await import("viem");
      const { stake } = await import("../../sdk/actions/miner/stake.ts");
      const wallet = createWalletClient({ account, transport: http(config.rpcUrl) });
      const payout = (options.payout ?? account.address) as `0x${string}`;
      const result = await stake(wallet, { deployments, payout, signingKey: signer.address, valueWei: options.amount });
      logger.info({ txHash: result.transactionHash, worker: account.address, signingKey: signer.address, payout, stakeWei: options.amount.toString() }, "staked");
    });

  program
    .command("train")
    .description("train one pipeline stage of a model, commit and submit its work each round")
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption("--stage <index>", "stage index (0-based)", smallInt("--stage"))
    .requiredOption("--spec <file>", "the model's canonical spec JSON (must hash to the registered specHash)")
    .option("--peer <multiaddr>", "next stage's multiaddr (stage s+1; omit on the last stage)")
    .option("--listen <multiaddr>", "listen address for the previous stage", "/ip4/127.0.0.1/tcp/0")
    .option("--journal <dir>", "journal directory (crash-safe state)", "shardholder-state")
    .addOption(new Option("--rounds <n>", "rounds to train, from the model's current round").argParser(uint("--rounds")).default(1n, "1"))
    .addOption(new Option("--schedule <name>", "microbatch schedule").choices(["1f1b", "gpipe"]).default("1f1b"))
    .addOption(new Option("--wire <format>", "tensor format on the wire").choices(["int8", "float32"]).default("int8"))
    .addOption(new Option("--dial-attempts <n>", "attempts to reach the next stage (exponential backoff)").argParser(uint("--dial-attempts")).default(8n, "8"))
    .addOption(new Option("--until-round <n>", "train through this round instead of --rounds (a restart with the same flags finishes the same work)").argParser(uint("--until-round")))
    .addOption(new Option("--peer-timeout <sec>", "fail a link whose neighbour sends or reads nothing for this long").argParser(positiveInt("--peer-timeout")).default(300, "300"))
    .addOption(new Option("--reconnect-attempts <n>", "reconnects after a neighbour stage is lost mid-run (backoff 0.5 s doubling to 8 s)").argParser(uint("--reconnect-attempts")).default(8n, "8"))
    .addOption(new Option("--poll-ms <n>", "chain polling interval while waiting for a round's commit window").argParser(positiveInt("--poll-ms")).default(2000, "2000"))
    .option("--keep-serving", "after the last round, keep serving the committed content to validators until SIGINT/SIGTERM")
    .addOption(new Option("--content-rounds <n>", "rounds of committed content kept for validators besides the current one (on disk in <journal>/content)").argParser(uint("--content-rounds")).default(8n, "8"))
    .action(
      async (
        options: {
          model: bigint;
          stage: number;
          spec: string;
          peer?: string;
          listen: string;
          journal: string;
          rounds: bigint;
          untilRound?: bigint;
          schedule: "1f1b" | "gpipe";
          wire: "int8" | "float32";
          dialAttempts: bigint;
          peerTimeout: number;
          reconnectAttempts: bigint;
          pollMs: number;
          keepServing?: boolean;
          contentRounds: bigint;
        },
        command: Command,
      ) => {
        const attempts = Number(options.dialAttempts);
        const connected = await workerPreflight(command, options.peer ? [options.peer] : [], attempts);
        const { runTrainCommand } = await import("./train.ts");
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
        });
      },
    );

  program
    .command("serve")
    .description("serve escrowed inference requests of a model through the stage pipeline")
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption("--stage <index>", "stage index (0-based)", smallInt("--stage"))
    .requiredOption("--spec <file>", "the model's canonical spec JSON")
    .option("--listen <multiaddr>", "listen address for the previous stage", "/ip4/127.0.0.1/tcp/0")
    .option("--next <multiaddr>", "next stage's multiaddr (omit on the last stage)")
    .option("--journal <dir>", "serve the newest checkpoint of this training journal (else the initial weights)")
    .option("--operators <a,b,c>", "stage 0: the operator credited for each stage, in stage order (default: this key for every stage)")
    .option("--consent <operator=signature>", "stage 0: another operator's pipeline consent (from `shardholder consent`), to register the pipeline (repeatable)", collect, [])
    .addOption(new Option("--consent-deadline <unix>", "stage 0: the deadline the consents were signed with").argParser(uint("--consent-deadline")))
    .addOption(new Option("--max-new-tokens <n>", "tokens generated per request").argParser(uint("--max-new-tokens")).default(24n, "24"))
    .option("--http <host:port>", "stage 0: where the prompt/output store listens (default 127.0.0.1, any free port)")
    .option("--public-url <url>", "stage 0: the URL announced on-chain for dapps (default: the store's bound URL)")
    .action(
      async (
        options: { model: bigint; stage: number; spec: string; listen: string; next?: string; journal?: string; operators?: string; consent: string[]; consentDeadline?: bigint; maxNewTokens: bigint; http?: string; publicUrl?: string },
        command: Command,
      ) => {
        if (options.consent.length > 0 && options.consentDeadline === undefined) throw new UsageError("--consent needs --consent-deadline (the deadline the operators signed).");
        const connected = options.stage === 0 ? await workerPreflight(command, options.next ? [options.next] : []) : await connect(command);
        const account = requireAccount(connected.config);
        if (connected.config.deployments.kind !== "file")
          throw new UsageError("serve needs --deployments to name the address book file (<chainId>.json).");
        // runServeCommand takes the raw key (already validated by the account above).
        const rawKey = command.optsWithGlobals<RawGlobalOptions>().key ?? process.env.SHARDHOLDER_KEY ?? "";
        const keyHex = (rawKey.startsWith("0x") ? rawKey : `0x${rawKey}`) as `0x${string}`;
        const { model } = await import("../../sdk/actions/models/getModel.ts").then(async ({ getModel }) => ({ model: await getModel(connected.client, { deployments: connected.deployments, modelId: options.model }) }));
        const operators = (options.operators ? options.operators.split(",").map(address) : Array.from({ length: model.stageCount }, () => account.address)) as `0x${string}`[];
        const signatures: Record<`0x${string}`, `0x${string}`> = {};
        for (const entry of options.consent) {
          const [operator, signature] = entry.split("=");
          if (!operator || !signature || !/^0x[0-9a-fA-F]+$/.test(signature)) throw new UsageError(`--consent must be <operator>=<0x signature>, got "${entry}".`);
          signatures[address(operator) as `0x${string}`] = signature as `0x${string}`;
        }
        const consents = options.consentDeadline === undefined ? undefined : { deadline: options.consentDeadline.toString(), signatures };
        const http = options.http === undefined ? undefined : parseHostPort(options.http);
        if (options.publicUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(options.publicUrl)) throw new UsageError(`--public-url must be an http(s) URL, got "${options.publicUrl}".`);
        const { runServeCommand } = await import("../serve/command.ts");
        const { served } = await runServeCommand({
          logger: connected.logger,
          rpcUrls: connected.config.rpcUrls,
          deploymentsPath: connected.config.deployments.path,
          key: keyHex,
          backend: connected.config.backend,
          modelId: options.model,
          stage: options.stage,
          specPath: options.spec,
          listen: options.listen,
          next: options.next,
          journalDir: options.journal,
          stageOperators: operators,
          consents,
          maxNewTokens: Number(options.maxNewTokens),
          http,
          publicUrl: options.publicUrl,
        });
        connected.logger.info({ served }, "serve stopped");
      },
    );

  program
    .command("consent")
    .description("sign this key's consent to serve in a pipeline (give it to the operator who registers it with `serve --consent`)")
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption("--operators <a,b,c>", "the pipeline: the operator of each stage, in stage order")
    .requiredOption("--deadline <unix>", "unix time (exclusive) after which the consent is void", uint("--deadline"))
    .action(async (options: { model: bigint; operators: string; deadline: bigint }, command: Command) => {
      const connected = await connect(command);
      const account = requireAccount(connected.config);
      const stageOperators = options.operators.split(",").map(address) as `0x${string}`[];
      const { signPipelineConsent, pipelineKey } = await import("../../sdk/protocol/pipelineConsent.ts");
      const signature = await signPipelineConsent(account, {
        escrow: connected.deployments.contracts.inferenceEscrow,
        chainId: connected.deployments.chainId,
        consent: { modelId: options.model, stageOperators, deadline: options.deadline },
      });
      connected.logger.info({ operator: account.address, pipelineKey: pipelineKey(options.model, stageOperators), deadline: options.deadline.toString(), signature, consent: `${account.address}=${signature}` }, "pipeline consent signed");
    });

  program
    .command("validate")
    .description("sample other workers' items, re-execute them, attest or challenge; vote in committees")
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption("--spec <file>", "the model's canonical spec JSON (a calibrated <spec>.tolerance.json beside it is used)")
    .option("--fraction <share>", "share of each commitment's items re-executed (0-1]", (v: string) => {
      const n = Number(v);
      if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("must be a number in (0, 1].");
      return n;
    }, 0.1)
    .option("--peer-of <worker=multiaddr>", "content server of a worker (repeatable)", collect, [])
    .option("--committee-key <hex>", "extra validator identity in this process that only votes in committees (repeatable; env SHARDHOLDER_COMMITTEE_KEYS, comma-separated)", collect, [])
    .option("--stake <eth>", "stake and flag as validator any key not staked yet", ether)
    .addOption(new Option("--from-round <n>", "first round to audit (default: current)").argParser(uint("--from-round")))
    .addOption(new Option("--until-round <n>", "stop after auditing this round and resolving its disputes").argParser(uint("--until-round")))
    .addOption(new Option("--poll-ms <n>", "chain polling interval").argParser(uint("--poll-ms")).default(2000n, "2000"))
    .addOption(
      new Option("--availability-deadline-ms <n>", "how long to retry fetching a worker's manifest before demanding its sampled leaves on-chain")
        .argParser(uint("--availability-deadline-ms"))
        .default(60_000n, "60000"),
    )
    .action(
      async (
        options: { model: bigint; spec: string; fraction: number; peerOf: string[]; committeeKey: string[]; stake?: bigint; fromRound?: bigint; untilRound?: bigint; pollMs: bigint; availabilityDeadlineMs: bigint },
        command: Command,
      ) => {
        const connected = await connect(command);
        const { checkFunded } = await import("./preflight.ts");
        const { privateKeyToAccount } = await import("viem/accounts");
        const account = requireAccount(connected.config);
        await checkFunded(connected.client, account.address);
        // Keys belong in the environment, not argv (`ps` shows argv).
        const fromEnv = (process.env.SHARDHOLDER_COMMITTEE_KEYS ?? "").split(",").filter(Boolean);
        const committee = [...options.committeeKey, ...fromEnv].map((k) => {
          if (!/^0x[0-9a-fA-F]{64}$/.test(k)) throw new UsageError("--committee-key must be a 32-byte 0x hex key.");
          return privateKeyToAccount(k as `0x${string}`);
        });
        const { parsePeerOf, runValidateCommand } = await import("./validate.ts");
        await runValidateCommand({
          logger: connected.logger,
          client: connected.chain.client,
          transport: connected.chain.transport,
          deployments: connected.deployments,
          accounts: [account, ...committee],
          backend: connected.config.backend,
          modelId: options.model,
          specPath: options.spec,
          peers: parsePeerOf(options.peerOf),
          fraction: options.fraction,
          stakeWei: options.stake ?? 0n,
          fromRound: options.fromRound,
          untilRound: options.untilRound,
          pollMs: Number(options.pollMs),
          availabilityDeadlineMs: Number(options.availabilityDeadlineMs),
        });
      },
    );

  program
    .command("devnet")
    .description("run a whole local network: chain, deployment, stage workers, validator, inference (flags: see `shardholder devnet --help`)")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(async (_options: unknown, command: Command) => {
      await runScript("devnet", await scriptArgs(command, { takes: ["rpc", "deployments", "json"] }));
    });

  return program;
}

function report(err: CliError, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ level: 50, time: new Date().toISOString(), pid: process.pid, name: err.name, exitCode: err.exitCode, msg: err.shortMessage })}\n`);
  } else {
    process.stderr.write(`error: ${err.shortMessage}\n`);
  }
}

/**
 * Runs the CLI on `argv` (process.argv layout) and returns the exit code: 0, or one of
 * {@link ExitCode} with a one-line error.
 */
export async function run(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one-line message (or the help).
      if (err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version") return ExitCode.ok;
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof ConfigError) {
      report(new UsageError(err.shortMessage), json);
      return ExitCode.usage;
    }
    if (err instanceof CliError) {
      report(err, json);
      return err.exitCode;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    if (e.name === "PeerTimeoutError") {
      const silent = new PeerSilentError({ cause: e });
      report(silent, json);
      return silent.exitCode;
    }
    if (e.name === "LinkClosedError") {
      const lost = new PeerLostError({ attempts: 0, cause: e });
      report(lost, json);
      return lost.exitCode;
    }
    // The long-lived RPC layer waited out its whole stall budget (worker/rpc/transport.ts): the
    // chain is unreachable, whatever SDK action's error wraps that.
    let stalled: Error | undefined;
    for (let c: unknown = e; c instanceof Error && !stalled; c = c.cause) if (c.name === "RpcStalledError") stalled = c;
    if (stalled) {
      report(new CliError((stalled as { shortMessage?: string }).shortMessage ?? stalled.message, { exitCode: ExitCode.rpcUnreachable, name: stalled.name }), json);
      return ExitCode.rpcUnreachable;
    }
    if (e.name === "PeerUnreachableError") {
      report(new CliError((e as { shortMessage?: string }).shortMessage ?? e.message, { exitCode: ExitCode.peerUnreachable, name: e.name }), json);
      return ExitCode.peerUnreachable;
    }
    const short = (e as { shortMessage?: unknown }).shortMessage;
    report(new CliError(typeof short === "string" ? short : (e.message.split("\n")[0] ?? e.message), { exitCode: ExitCode.unexpected, name: e.name }), json);
    if (process.env.SHARDHOLDER_DEBUG) process.stderr.write(`${e.stack ?? ""}\n`);
    return ExitCode.unexpected;
  }
}
