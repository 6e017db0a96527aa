// The devnet's accounts for the page's dev-account picker, named by the part each plays (the
// devnet's own role table, scripts/lib/devnet/accounts.ts, or the `devKeys` of the network.json a
// kept-running devnet writes), so a person can act as a miner's payout, the designer or a dapp
// client after `npm start` or `shardholder --network FILE app`.
import type { Hex } from "viem";
import { devnetRoles } from "../../scripts/lib/devnet/accounts.ts";
import type { DevKey } from "./startApp.ts";

/** The keys of the devnet's roles that hold funds and act (signing keys only sign: not offered). */
type RoleKeys = {
  deployer?: Hex | undefined;
  miners: readonly Hex[];
  replicas?: readonly Hex[] | undefined;
  clients: readonly Hex[];
  validators: readonly Hex[];
  cheater?: Hex | undefined;
};

function labelled(r: RoleKeys): DevKey[] {
  return [
    ...(r.deployer ? [{ key: r.deployer, label: "designer (deployer, relayer)" }] : []),
    ...r.miners.map((key, stage) => ({ key, label: `miner, stage ${stage} (its own payout)` })),
    // The devnet's swarm: the last stage's replica that crashes mid-run, then the one that joins later.
    ...(r.replicas ?? []).map((key, i) => ({
      key,
      label: `replica of stage ${r.miners.length - 1} (${i === 0 ? "killed and restarted" : "joins later"})`,
    })),
    ...r.clients.map((key, i) => ({ key, label: `dapp client ${i}` })),
    // Two validators per stage (they hold one stage each): the auditors of stages 0..S-1, then their committees.
    ...r.validators.map((key, i) => {
      const stages = r.validators.length / 2;
      return { key, label: i < stages ? `validator of stage ${i} (auditor)` : `committee validator of stage ${i - stages}` };
    }),
    ...(r.cheater ? [{ key: r.cheater, label: "cheating replica" }] : []),
  ];
}

/**
 * Labelled dev keys of a devnet run with `stageCount` stages (chain 31337 only, like every dev
 * key); the cheating replica's key only when the run started it (`cheater`, default true), the
 * swarm's replicas only when it ran one (`swarm`, default true).
 */
export function devnetDevKeys(
  stageCount: number,
  { clientCount = 2, cheater = true, swarm = true }: { clientCount?: number; cheater?: boolean; swarm?: boolean } = {},
): DevKey[] {
  const roles = devnetRoles(stageCount, clientCount);
  return labelled({
    ...roles,
    replicas: swarm ? roles.replicas.map((r) => r.key) : undefined,
    cheater: cheater ? roles.cheater.key : undefined,
  });
}

const keyOf = (entry: unknown): Hex | undefined => {
  const key = (entry as { key?: unknown } | null | undefined)?.key;
  return typeof key === "string" && /^0x[0-9a-fA-F]{64}$/.test(key) ? (key as Hex) : undefined;
};
const keysOf = (list: unknown): Hex[] => (Array.isArray(list) ? list.map(keyOf).filter((k): k is Hex => k !== undefined) : []);

/**
 * The labelled dev keys of a network file's `devKeys` (`{ deployer, miners, replicas, clients, validators }`,
 * each `{ address, key }`, as `devnet --keep-running` writes them); entries without a well-formed
 * key are skipped, and a file without any gives `[]`.
 *
 * @example
 * const devKeys = networkDevKeys(loadNetworkFile("runs/<time>/network.json").devKeys)
 */
export function networkDevKeys(devKeys: unknown): DevKey[] {
  if (typeof devKeys !== "object" || devKeys === null) return [];
  const d = devKeys as Record<string, unknown>;
  return labelled({
    deployer: keyOf(d.deployer),
    miners: keysOf(d.miners),
    replicas: keysOf(d.replicas),
    clients: keysOf(d.clients),
    validators: keysOf(d.validators),
  });
}
