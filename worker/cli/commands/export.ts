// `shardholder export`: one stage's trained weights out of its training journal into a single
// checked file a holder keeps, and `serve --weights` starts from later (no chain needed).
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.ts";
import { uint } from "../parse.ts";

export type ExportOptions = { journal: string; out: string; spec: string; round?: bigint | undefined };

export function registerExport(program: Command): void {
  program
    .command("export")
    .description(
      "write this stage's trained weights (a round's end, checked against the journal's root) to one file that `serve --weights` loads",
    )
    .requiredOption("--journal <dir>", "the stage's training journal (from `train --journal`)")
    .requiredOption("--out <file>", "the checkpoint file to write")
    .requiredOption("--spec <file>", "the model's canonical spec JSON (its hash goes into the file)")
    .option("--round <n>", "export the end of this round (default: the newest finished round)", uint("--round"))
    .action(async (options: ExportOptions, command: Command) => {
      const { parseModelSpec, specHash } = await import("../../model/spec.ts");
      let specText: string;
      try {
        specText = readFileSync(options.spec, "utf8");
      } catch (err) {
        throw new UsageError(`Cannot read --spec ${options.spec}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
      }
      const { exportJournalCheckpoint, StageCheckpointFileError } = await import("../../serve/checkpointFile.ts");
      try {
        const header = await exportJournalCheckpoint({
          journalDir: options.journal,
          out: options.out,
          specHash: specHash(parseModelSpec(specText)),
          round: options.round,
        });
        const json = Boolean(command.optsWithGlobals<{ json?: boolean }>().json);
        if (json) process.stdout.write(`${JSON.stringify({ msg: "exported", file: options.out, ...header })}\n`);
        else
          process.stdout.write(
            `exported model ${header.modelId} stage ${header.stage} (worker ${header.worker}) at the end of round ${header.round}: ${header.elements} weights, root ${header.weightsRoot} -> ${options.out}\n`,
          );
      } catch (err) {
        if (err instanceof StageCheckpointFileError) throw new UsageError(err.shortMessage);
        throw err;
      }
    });
}
