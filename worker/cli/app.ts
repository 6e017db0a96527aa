// `shardholder app`: the web app (holdings and claims, the network's rounds and participants, a
// prompt box that pays for an inference) against any chain and address book, served until Ctrl-C.
// With `--network FILE` (a kept-running devnet's network.json) it also charts the loss report
// beside that file and names the network's dev accounts by role. Only commander loads up front;
// the server and viem load when the command runs.
import { type Command, InvalidArgumentError } from "commander";
import type { DevKey } from "../../app/server/startApp.ts";
import type { Network } from "../config/network.ts";
import type { RawGlobalOptions } from "../config/options.ts";
import { UsageError } from "./errors.ts";

const port = (value: string): number => {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535)
    throw new InvalidArgumentError("must be a port from 0 to 65535 (0: any free port).");
  return Number(value);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

type AppOptions = { port: number; host: string; loss: string[]; runsDir: string; rebuild?: boolean };

/**
 * What a network file adds to the app: the run's loss report beside it (`summary.json`, once the
 * run wrote it: reports are re-read on each request) and, on the development chain, its dev keys
 * named by role (else the page offers Hardhat's 20 accounts unnamed).
 */
async function networkExtras(network: Network, chainId: number): Promise<{ lossFiles: string[]; devKeys: DevKey[] | undefined }> {
  const path = await import("node:path");
  const { DEV_CHAIN_ID } = await import("../../app/server/startApp.ts");
  const { networkDevKeys } = await import("../../app/server/devnetKeys.ts");
  const named = chainId === DEV_CHAIN_ID ? networkDevKeys(network.devKeys) : [];
  return { lossFiles: [path.join(path.dirname(network.file), "summary.json")], devKeys: named.length ? named : undefined };
}

/** Adds the `app` subcommand to the `shardholder` program. */
export function registerAppCommand(program: Command): void {
  program
    .command("app")
    .description(
      "serve the web app (holdings and claims, network activity, try the model) for the chain at --rpc and its --deployments (or a --network file), until Ctrl-C",
    )
    .option("--port <n>", "port to listen on (0: any free port)", port, 5190)
    .option("--host <host>", "interface to listen on (the page holds dev keys on chain 31337: keep it on loopback there)", "127.0.0.1")
    .option("--loss <file>", "a loss report to chart (a devnet's runs/<time>/summary.json); repeatable", collect, [])
    .option("--runs-dir <dir>", "also chart the loss reports in <dir>/*/summary.json (newest matching the model wins)", "runs")
    .option("--rebuild", "rebuild the page even if app/dist is up to date")
    .action(async (options: AppOptions, command: Command) => {
      const { resolveGlobalConfig } = await import("../config/options.ts");
      const { createLogger } = await import("./output.ts");
      const { checkRpcs, loadAddressBook } = await import("./preflight.ts");
      const config = resolveGlobalConfig(command.optsWithGlobals<RawGlobalOptions>(), process.env);
      const logger = createLogger({ json: config.json });
      const { chainId, url: rpcUrl } = await checkRpcs(config.rpcUrls);
      const deployments = await loadAddressBook(config.deployments, chainId);
      const { startApp } = await import("../../app/server/startApp.ts");
      const fromNetwork = config.network ? await networkExtras(config.network, deployments.chainId) : { lossFiles: [], devKeys: undefined };
      const app = await startApp({
        rpcUrl,
        deployments,
        port: options.port,
        host: options.host,
        lossFiles: [...options.loss, ...fromNetwork.lossFiles],
        devKeys: fromNetwork.devKeys,
        runsDir: options.runsDir,
        rebuild: options.rebuild,
        log: (message) => logger.info(message),
      }).catch((err: unknown) => {
        if ((err as { code?: unknown }).code === "EADDRINUSE")
          throw new UsageError(`Port ${options.port} is in use; pass --port 0 to take any free port.`);
        throw err;
      });
      logger.info({ url: app.url, chainId, rpc: rpcUrl, registry: deployments.contracts.modelRegistry }, "app ready; Ctrl-C stops it");
      if (!config.json) process.stdout.write(`${app.url}\n`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await app.close();
    });
}
