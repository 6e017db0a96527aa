import { readFile } from "node:fs/promises";

/** The snapshot groups the Solidity gas tests write (`vm.snapshotValue(group, name, gas)` -> `snapshots/<group>.json`). */
export const SNAPSHOT_GROUPS = ["ComputeLedger", "InferenceEscrow", "ModelToken"] as const;

/**
 * Reads the machine-written gas snapshots (`snapshots/<group>.json`, values as decimal strings) into
 * `{ "<group>: <name>": gas }`: the figures the Solidity gas tests recorded, exactly as `npm test`
 * checks them.
 */
export async function readGasSnapshots(dir = "snapshots"): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  for (const group of SNAPSHOT_GROUPS) {
    const values = JSON.parse(await readFile(`${dir}/${group}.json`, "utf8")) as Record<string, string>;
    for (const [name, value] of Object.entries(values)) figures[`${group}: ${name}`] = Number(value);
  }
  return figures;
}
