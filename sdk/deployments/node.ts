import { NoDeploymentError } from "../errors/sdk.ts";
import { parseDeployments } from "./parse.ts";
import type { Deployments } from "./types.ts";

export type LoadDeploymentsParameters = { chainId: number; dir?: string | undefined };

/**
 * Reads `<dir>/<chainId>.json` (default dir: `deployments` in the working directory). Node only
 * (node:fs is imported lazily, so bundles for the browser stay clean); in a browser, import the
 * JSON and pass it as `deployments`.
 *
 * @example
 * const deployments = await loadDeployments({ chainId: 31337 })
 */
export async function loadDeployments({ chainId, dir = "deployments" }: LoadDeploymentsParameters): Promise<Deployments> {
  const { readFile } = await import("node:fs/promises");
  const path = await import("node:path");
  const file = path.join(dir, `${chainId}.json`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NoDeploymentError({ chainId, known: [] });
    throw err;
  }
  return parseDeployments(JSON.parse(text), file);
}
