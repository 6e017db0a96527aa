// The devnet's accounts for the page's dev-account picker, named by the part each plays (the
// devnet's own role table, scripts/lib/devnet/accounts.ts), so a person can act as a miner's
// payout, the designer or a dapp client after `npm start`.
import { devnetRoles } from "../../scripts/lib/devnet/accounts.ts";
import type { DevKey } from "./startApp.ts";

/** Labelled dev keys of a devnet run with `stageCount` stages (chain 31337 only, like every dev key). */
export function devnetDevKeys(stageCount: number, clientCount = 2): DevKey[] {
  const roles = devnetRoles(stageCount, clientCount);
  return [
    { key: roles.deployer, label: "designer (deployer, relayer)" },
    ...roles.miners.map((key, stage) => ({ key, label: `miner, stage ${stage} (its own payout)` })),
    ...roles.clients.map((key, i) => ({ key, label: `dapp client ${i}` })),
    ...roles.validators.map((key, i) => ({ key, label: i === 0 ? "validator (auditor)" : `committee validator ${i}` })),
    { key: roles.cheater.key, label: "cheating replica" },
  ];
}
