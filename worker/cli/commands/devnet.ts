// `shardholder devnet`: runs scripts/devnet.ts with every flag passed through untouched.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { ExitCode } from "../errors.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function registerDevnet(program: Command): void {
  program
    .command("devnet")
    .description("run a whole local network: chain, deployment, stage workers, validator, inference (flags: see `shardholder devnet --help`)")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(async (_options: unknown, command: Command) => {
      const { spawn } = await import("node:child_process");
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts", "devnet.ts"), ...command.args], { stdio: "inherit", cwd: root });
        child.on("exit", (c) => resolve(c ?? ExitCode.unexpected));
      });
      if (code !== 0) process.exitCode = code;
    });
}
