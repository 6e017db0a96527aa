// `shardholder consent`: sign this key's EIP-712 consent to serve in a pipeline (no transaction).
import type { Command } from "commander";
import type { Address } from "viem";
import { connect, requireAccount } from "../context.ts";
import { address, uint } from "../parse.ts";

export type ConsentOptions = { model: bigint; operators: string; deadline: bigint };

export function registerConsent(program: Command): void {
  program
    .command("consent")
    .description("sign this key's consent to serve in a pipeline (give it to the operator who registers it with `serve --consent`)")
    .requiredOption("--model <id>", "registry model id", uint("--model"))
    .requiredOption("--operators <a,b,c>", "the pipeline: the operator of each stage, in stage order")
    .requiredOption("--deadline <unix>", "unix time (exclusive) after which the consent is void", uint("--deadline"))
    .action(async (options: ConsentOptions, command: Command) => {
      const connected = await connect(command);
      const account = requireAccount(connected.config);
      const stageOperators = options.operators.split(",").map<Address>((a) => address(a.trim()));
      const { signPipelineConsent, pipelineKey } = await import("../../../sdk/protocol/pipelineConsent.ts");
      const signature = await signPipelineConsent(account, {
        escrow: connected.deployments.contracts.inferenceEscrow,
        chainId: connected.deployments.chainId,
        consent: { modelId: options.model, stageOperators, deadline: options.deadline },
      });
      connected.logger.info(
        {
          operator: account.address,
          pipelineKey: pipelineKey(options.model, stageOperators),
          deadline: options.deadline.toString(),
          signature,
          consent: `${account.address}=${signature}`,
        },
        "pipeline consent signed",
      );
    });
}
