// `shardholder devnet`: runs scripts/devnet.ts with its own flags and the global ones it takes
// (`--rpc`, `--deployments`, `--json`, `--key`, `--network`) handed over intact (worker/cli/scripts.ts).
import type { Command } from "commander";
import { runScript, scriptArgs } from "../scripts.ts";

export function registerDevnet(program: Command): void {
  program
    .command("devnet")
    .description(
      "run a whole local network: chain, deployment, stage workers, validator, inference (flags: see `shardholder devnet --help`)",
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(async (_options: unknown, command: Command) => {
      await runScript("devnet", await scriptArgs(command, { takes: ["rpc", "deployments", "json"] }));
    });
}
