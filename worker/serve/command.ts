// `shardholder serve`: one serving stage in this process, logging through the CLI's logger.
// worker/cli/commands/serve.ts parses the flags and calls runServeCommand.
import type { Logger } from "pino";
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import type { SamplingTerms } from "./sampling.ts";
import type { BackendName } from "../backend/select.ts";
import { loggable } from "../cli/output.ts";
import { runServeStage } from "./stageServer.ts";

export type ServeCommandParameters = {
  logger: Logger;
  /** JSON-RPC endpoints in order of preference (stage 0's operator falls back along them). */
  rpcUrls: string[];
  /** The address book (the escrow every stage signs for; stage > 0 does not touch the chain). */
  deployments: Deployments;
  /** This stage's operator, `stageOperators[stage]`: signs its frames and commitment (stage 0 also fulfils). */
  account: LocalAccount;
  backend?: BackendName | undefined;
  modelId: bigint;
  stage: number;
  specPath: string;
  listen: string;
  next?: string | undefined;
  /** Serve the newest checkpoint of this training journal (else the initial weights). */
  journalDir?: string | undefined;
  /** Serve an exported stage checkpoint (`shardholder export`) instead. */
  weightsFile?: string | undefined;
  /** The pipeline's operator of each stage, in stage order (every stage checks its neighbours' signatures against them). */
  stageOperators: Address[];
  /** Stage 0: the other operators' consents, to register the pipeline if it is not registered yet. */
  consents?: { deadline: string; signatures: Record<Address, Hex> } | undefined;
  maxNewTokens: number;
  /** Sampled decoding on the stage that holds the logits (the last; the seed is each request's); greedy when absent. */
  sampling?: SamplingTerms | undefined;
  /** Stage 0: where the content store listens (`host:port`; default 127.0.0.1, any free port). */
  storeListen?: { host?: string | undefined; port?: number | undefined } | undefined;
  /** Stage 0: the URL announced in the ServingDirectory (default: the store's bound URL). */
  publicUrl?: string | undefined;
};

/** Serves until SIGINT/SIGTERM (stage 0) or until the upstream stage closes (stage > 0). */
export async function runServeCommand(p: ServeCommandParameters): Promise<{ served: number }> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await runServeStage(
      {
        stage: p.stage,
        specPath: p.specPath,
        modelId: p.modelId.toString(),
        listen: [p.listen],
        next: p.next,
        journalDir: p.journalDir,
        weightsFile: p.weightsFile,
        backend: p.backend,
        sampling: p.sampling,
        account: p.account,
        stageOperators: p.stageOperators,
        deployments: p.deployments,
        ...(p.stage === 0
          ? {
              operator: {
                rpcUrls: p.rpcUrls,
                maxNewTokens: p.maxNewTokens,
                consents: p.consents,
                http: p.storeListen,
                publicUrl: p.publicUrl,
              },
            }
          : {}),
      },
      (event, body) => p.logger.info(loggable(body), event),
      stop.signal,
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
