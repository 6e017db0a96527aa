// `shardholder app`: the web app (holdings and claims, the network's rounds and participants, a
// prompt box that pays for an inference) against any chain and address book, served until Ctrl-C.
// Only commander loads up front; the server and viem load when the command runs.
import { type Command, InvalidArgumentError } from "commander";
import type { RawGlobalOptions } from "../config/options.ts";
import { UsageError } from "./errors.ts";

const port = (value: string): number => {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError("must be a port from 0 to 65535 (0: any free port).");
  return Number(value);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

type AppOptions = { port: number; host: string; loss: string[]; runsDir: string; rebuild?: boolean };

/** Adds the `app` subcommand to the `shardholder` program. */
export function registerAppCommand(program: Command): void {
  program
    .command("app")
    .description("serve the web app (holdings and claims, network activity, try the model) for the chain at --rpc and its --deployments, until Ctrl-C")
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
      const app = await startApp({
        rpcUrl,
        deployments,
        port: options.port,
        host: options.host,
        lossFiles: options.loss,
        runsDir: options.runsDir,
        rebuild: options.rebuild,
        log: (message) => logger.info(message),
      }).catch((err: unknown) => {
        if ((err as { code?: unknown }).code === "EADDRINUSE") throw new UsageError(`Port ${options.port} is in use; pass --port 0 to take any free port.`);
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
