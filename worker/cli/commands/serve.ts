// `shardholder serve`: one serving stage of a model's pipeline (stage 0 is also the operator: it
// runs the prompt/output store, announces it on-chain, watches the escrow and fulfils).
import { type Command, Option } from "commander";
import type { Address, Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { connect, requireAccount, workerPreflight } from "../context.ts";
import { UsageError } from "../errors.ts";
import { address, collect, hostPort, httpUrl, numberIn, positiveInt, smallInt, uint } from "../parse.ts";

export type ServeOptions = {
  model: bigint;
  stage: number;
  spec: string;
  listen: string;
  next?: string | undefined;
  journal?: string | undefined;
  weights?: string | undefined;
  operators?: string | undefined;
  consent: string[];
  consentDeadline?: bigint | undefined;
  maxNewTokens: bigint;
  temperature: number;
  topK: number;
  storeListen?: { host: string; port: number } | undefined;
  publicUrl?: string | undefined;
};

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "serve escrowed inference requests of a model through the stage pipeline (every stage needs --key, the pipeline's operator of that stage, which signs its frames and commitments; stage 0's is staked at the model's minimum; no --signing-key)",
    )
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption("--stage <index>", "stage index (0-based)", smallInt("--stage"))
    .requiredOption("--spec <file>", "the model's canonical spec JSON")
    .option("--listen <multiaddr>", "listen address for the previous stage", "/ip4/127.0.0.1/tcp/0")
    .option("--next <multiaddr>", "next stage's multiaddr (omit on the last stage)")
    .option("--journal <dir>", "serve the newest checkpoint of this training journal (else the initial weights)")
    .option("--weights <file>", "serve a stage checkpoint exported by `shardholder export` (checked: model, stage, spec, root)")
    .option(
      "--operators <a,b,c>",
      "the pipeline's operator of each stage, in stage order, the same on every stage (default: this key for every stage)",
    )
    .option(
      "--consent <operator=signature>",
      "stage 0: another operator's pipeline consent (from `shardholder consent`), to register the pipeline (repeatable)",
      collect,
      [],
    )
    .addOption(
      new Option("--consent-deadline <unix>", "stage 0: the deadline the consents were signed with").argParser(uint("--consent-deadline")),
    )
    .addOption(new Option("--max-new-tokens <n>", "tokens generated per request").argParser(uint("--max-new-tokens")).default(24n, "24"))
    .addOption(
      new Option(
        "--temperature <t>",
        "sampling temperature, used by the last stage with each request's seed (0 = greedy, which repeats a barely trained model's commonest character)",
      )
        .argParser(numberIn(0, 10))
        .default(0.8, "0.8"),
    )
    .addOption(
      new Option("--top-k <k>", "sample among the k most likely tokens (last stage)").argParser(positiveInt("--top-k")).default(8, "8"),
    )
    .addOption(
      new Option(
        "--store-listen <host:port>",
        "stage 0: where the prompt/output store listens (default 127.0.0.1, any free port; 0.0.0.0:8080 for dapps elsewhere)",
      ).argParser(hostPort),
    )
    .addOption(
      new Option("--public-url <url>", "stage 0: the URL announced on-chain for dapps (default: the store's bound URL)").argParser(httpUrl),
    )
    .action(async (options: ServeOptions, command: Command) => runServe(options, command));
}

async function runServe(options: ServeOptions, command: Command): Promise<void> {
  if (options.journal && options.weights) throw new UsageError("--journal and --weights both name the weights to serve: pass one.");
  if (options.consent.length > 0 && options.consentDeadline === undefined)
    throw new UsageError("--consent needs --consent-deadline (the deadline the operators signed).");
  const operatorFlags = [
    options.consent.length && "--consent",
    options.storeListen && "--store-listen",
    options.publicUrl && "--public-url",
  ].filter(Boolean);
  if (options.stage !== 0 && operatorFlags.length)
    throw new UsageError(`${operatorFlags.join(", ")}: stage 0's flags (it is the operator); this is stage ${options.stage}.`);
  const connected =
    options.stage === 0
      ? // The operator sends transactions (announce, register, fulfil): funded, staked at the model's
        // minimum (the escrow only pays serving stakers), its key held by this process alone. A
        // signing key is checked when given, never required: serving signs no commitment.
        await workerPreflight(command, {
          modelId: options.model,
          peers: options.next ? [options.next] : [],
          signingKey: "checkedIfGiven",
          lockAs: `serve --model ${options.model} --stage 0`,
        })
      : await connect(command);
  const { accessSync, constants } = await import("node:fs");
  try {
    accessSync(options.spec, constants.R_OK);
  } catch (err) {
    throw new UsageError(`Cannot read --spec ${options.spec}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
  const signatures: Record<Address, Hex> = {};
  for (const entry of options.consent) {
    const [operator, signature] = entry.split("=");
    if (!operator || !signature || !/^0x[0-9a-fA-F]{40}$/.test(operator) || !/^0x[0-9a-fA-F]+$/.test(signature))
      throw new UsageError(`--consent must be <operator>=<0x signature>, got "${entry}".`);
    signatures[operator as Address] = signature as Hex;
  }
  const consents = options.consentDeadline === undefined ? undefined : { deadline: options.consentDeadline.toString(), signatures };
  // Every stage signs what it serves with its operator's key: the pipeline's operator of this stage.
  const account: PrivateKeyAccount = requireAccount(connected.config);
  const { getModel } = await import("../../../sdk/actions/models/getModel.ts");
  const model = await getModel(connected.client, { deployments: connected.deployments, modelId: options.model });
  const operators: Address[] = options.operators
    ? options.operators.split(",").map((a) => address(a.trim()))
    : Array.from({ length: model.stageCount }, () => account.address);
  if (operators.length !== model.stageCount)
    throw new UsageError(`--operators names ${operators.length} operators; model ${options.model} has ${model.stageCount} stages.`);
  if (options.stage >= model.stageCount)
    throw new UsageError(`--stage ${options.stage}: model ${options.model} has ${model.stageCount} stages.`);
  if ((operators[options.stage] as Address).toLowerCase() !== account.address.toLowerCase())
    throw new UsageError(
      `--key is ${account.address} but the pipeline's operator of stage ${options.stage} is ${operators[options.stage]} (--operators).`,
    );
  if (options.storeListen && ["0.0.0.0", "::"].includes(options.storeListen.host) && !options.publicUrl)
    connected.logger.warn(
      { storeListen: `${options.storeListen.host}:${options.storeListen.port}` },
      "the store listens on every interface but the URL announced on-chain will name that wildcard address: pass --public-url with the address dapps reach",
    );
  const { servingSampling } = await import("../../serve/sampling.ts");
  const sampling = servingSampling({ temperature: options.temperature, topK: options.topK });
  connected.logger.info(
    {
      stage: options.stage,
      sampling: sampling ? { temperature: sampling.temperature, topK: sampling.topK, seed: "per request" } : "greedy",
    },
    "decoding",
  );
  const { runServeCommand } = await import("../../serve/command.ts");
  const { served } = await runServeCommand({
    logger: connected.logger,
    rpcUrls: connected.config.rpcUrls,
    deployments: connected.deployments,
    account,
    backend: connected.config.backend,
    modelId: options.model,
    stage: options.stage,
    specPath: options.spec,
    listen: options.listen,
    next: options.next,
    journalDir: options.journal,
    weightsFile: options.weights,
    stageOperators: operators,
    consents,
    maxNewTokens: Number(options.maxNewTokens),
    sampling,
    storeListen: options.storeListen,
    publicUrl: options.publicUrl,
  });
  connected.logger.info({ served }, "serve stopped");
}
