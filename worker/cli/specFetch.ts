// `train`/`serve`/`validate` without `--spec`: the spec comes from the network, checked against
// the model's on-chain specHash (worker/model/specSource.ts). Installed by the program through
// worker/config/commandDefaults.ts.
import path from "node:path";
import type { Command } from "commander";
import type { Network } from "../config/network.ts";
import { resolveGlobalConfig, type RawGlobalOptions } from "../config/options.ts";
import { CliError, ExitCode } from "./errors.ts";

/** Where fetched specs are kept (by hash), relative to the working directory; env SHARDHOLDER_SPEC_CACHE. */
export const SPEC_CACHE_DIR = path.join(".shardholder", "specs");

/** No source served the registered spec. */
export class SpecNotFoundError extends CliError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.specMismatch, name: "SpecNotFoundError" });
  }
}

/**
 * Finds model `modelId`'s spec for a command given no `--spec`: reads the model's specHash and
 * metadata URI and its serving endpoints from the chain, fetches from them (and from the network
 * file's spec server), keeps the text whose hash is the registered one, and returns its file.
 */
export async function resolveSpecForCommand({
  command,
  modelId,
  network,
}: {
  command: Command;
  modelId: bigint;
  network?: Network | undefined;
}): Promise<string> {
  const config = resolveGlobalConfig(command.optsWithGlobals<RawGlobalOptions>(), process.env);
  const { checkRpcs, loadAddressBook } = await import("./preflight.ts");
  const { createLogger } = await import("./output.ts");
  const { getModel } = await import("../../sdk/actions/models/getModel.ts");
  const { getServingEndpoints } = await import("../../sdk/actions/inference/getServingEndpoints.ts");
  const { fetchSpec, specCandidates, SpecUnavailableError } = await import("../model/specSource.ts");
  const logger = createLogger({ json: config.json });
  const { client, chainId } = await checkRpcs(config.rpcUrls);
  const deployments = await loadAddressBook(config.deployments, chainId);
  const model = await getModel(client, { deployments, modelId });
  const { endpoints } = await getServingEndpoints(client, { deployments, modelId }).catch(() => ({ endpoints: [] as { url: string }[] }));
  const bases = [...endpoints.map((e) => e.url), ...(network?.specServer ? [network.specServer] : [])];
  const urls = specCandidates(model.specHash, model.metadataURI, bases);
  try {
    const found = await fetchSpec({ specHash: model.specHash, urls, cacheDir: process.env.SHARDHOLDER_SPEC_CACHE ?? SPEC_CACHE_DIR });
    logger.info(
      { modelId: modelId.toString(), specHash: model.specHash, source: found.source, file: found.file },
      "spec fetched and checked against the chain",
    );
    return found.file;
  } catch (err) {
    if (err instanceof SpecUnavailableError) throw new SpecNotFoundError(`Model ${modelId}: ${err.message}`);
    throw err;
  }
}
