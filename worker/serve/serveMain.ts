/**
 * One serving stage in its own OS process (see stageServer.ts).
 *
 *   SHARDHOLDER_SERVE_KEY=0x… node --import tsx worker/serve/serveMain.ts --config-json '<ServeStageConfig JSON>'
 *
 * The stage operator's key comes from SHARDHOLDER_SERVE_KEY (never argv, which `ps` shows) unless
 * the config holds one.
 * stdout: one JSON object per line, `event` is one of
 *   listening {stage, addrs, weightsRound, weightsRoot, operator}   connected {stage}
 *   announced {url, txHash}          (stage 0, endpoint entered in the ServingDirectory)
 *   ready     {stage, storeUrl}      (stage 0, operator loop running)
 *   served    {requestId, status, output?, outputHash?, txHash?, gasUsed?, generateMs?, reason?}
 *   released  {requestId, txHash, gasUsed} | releaseFailed {requestId, reason}   (stage 0, after the challenge window)
 *   refused   {stage, kind, requestId, position, reason}   (a frame or commitment not signed by its operator)
 *   withdrawn {url, txHash} | withdrawFailed {url, reason}   (stage 0, on shutdown)
 *   done      {stage, served}        error {stage, name, shortMessage}
 * SIGTERM/SIGINT: stage 0 stops the operator and closes its link; downstream stages follow.
 */
import { runServeStage, type ServeStageConfig } from "./stageServer.ts";

export type { ServeStageConfig } from "./stageServer.ts";

const emit = (event: string, body: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ event, ...body }, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`);
};

let stageForErrors: number | undefined;
try {
  const i = process.argv.indexOf("--config-json");
  const parsed = JSON.parse(process.argv[i + 1] ?? "") as ServeStageConfig;
  const envKey = process.env.SHARDHOLDER_SERVE_KEY as `0x${string}` | undefined;
  const config: ServeStageConfig = { ...parsed, key: parsed.key ?? envKey };
  stageForErrors = config.stage;
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => stop.abort());
  await runServeStage(config, emit, stop.signal);
  process.exit(0);
} catch (err) {
  const error = err instanceof Error ? err : new Error(String(err));
  const shortMessage = "shortMessage" in error && typeof error.shortMessage === "string" ? error.shortMessage : error.message;
  emit("error", { stage: stageForErrors, name: error.name, shortMessage });
  process.exit(1);
}
