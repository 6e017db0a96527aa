// The devnet's verification side: one validator process (an auditor plus the three committee
// members a dispute needs, via the real `shardholder validate` CLI) and one cheating miner, a
// replica of the last stage that commits fabricated gradients (dev/cheat/replicaMain.ts).
import path from "node:path";
import type { Address, Hex, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { setChainTime } from "./chain.ts";
import { getAvailabilityChallenges } from "../../../sdk/actions/disputes/getAvailabilityChallenges.ts";
import { getDispute } from "../../../sdk/actions/miner/getDispute.ts";
import { getValidatorRound } from "../../../sdk/actions/validator/getValidatorRound.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import { DisputeStatus } from "../../../sdk/protocol/disputeStatus.ts";
import { JsonLineProcess } from "../../../worker/serve/launch.ts";
import { type DevnetRoles, stageValidatorKeys } from "./accounts.ts";
import { type ManagedProcess, type RestartRecord, SupervisedProcess } from "./supervisor.ts";

/** The content-server multiaddr a `shardholder train` (or replica) process logged at start. */
export async function contentAddress(proc: ManagedProcess, timeoutMs = 120_000): Promise<string> {
  const e = await proc.waitUntil("listening", (ev) => ev.msg === "listening" && Array.isArray(ev.addrs), timeoutMs);
  const addr = (e.addrs as string[]).find((a) => a.includes("/p2p/"));
  if (!addr) throw new Error(`${proc.name} logged no dialable address`);
  return addr;
}

/** Starts the cheating replica of `stage`, copying `honest`'s public work for `rounds` rounds from `fromRound`. */
export function startCheater(p: {
  rpcUrl: string;
  deploymentsFile: string;
  modelId: bigint;
  stage: number;
  key: Hex;
  signingKey: Hex;
  honest: { worker: Address; address: string };
  fromRound: bigint;
  rounds: number;
}): JsonLineProcess {
  const args = [
    "--rpc",
    p.rpcUrl,
    "--deployments",
    p.deploymentsFile,
    "--model",
    p.modelId.toString(),
    "--stage",
    String(p.stage),
    "--honest-worker",
    p.honest.worker,
    "--honest-peer",
    p.honest.address,
    "--from-round",
    p.fromRound.toString(),
    "--rounds",
    String(p.rounds),
  ];
  return new JsonLineProcess("cheater", "dev/cheat/replicaMain.ts", args, {
    env: { SHARDHOLDER_KEY: p.key, SHARDHOLDER_SIGNING_KEY: p.signingKey },
  });
}

/** Resolves once the cheater committed `round` or stopped cheating (jailed, done or exited). */
export async function cheaterRound(cheater: JsonLineProcess, round: bigint): Promise<boolean> {
  const e = await cheater
    .waitUntil(
      `round ${round}`,
      (ev) => (ev.msg === "round committed" && ev.round === round.toString()) || ev.msg === "jailed" || ev.msg === "done",
      120_000,
    )
    .catch(() => undefined);
  return e?.msg === "round committed";
}

/** What {@link startValidator} needs. */
export type StartValidatorParameters = {
  rpcUrl: string;
  deploymentsFile: string;
  modelId: bigint;
  specPath: string;
  /** The one stage every key of the process validates. */
  stage: number;
  keys: Hex[];
  peers: Map<Address, string>;
  fraction: number;
  fromRound: bigint;
  /** Last round to audit; none: audit every new round until stopped. */
  untilRound?: bigint | undefined;
  onRestart?: ((r: RestartRecord) => void) | undefined;
  /** Extra flags (the chaos bench sets a shorter `--availability-deadline-ms`). */
  extraArgs?: string[] | undefined;
  /** The process's output also goes to `<logDir>/validator-<stage>.log` (the directory must exist). */
  logDir?: string | undefined;
};

/**
 * Starts `shardholder validate --stage S` under a supervisor (process `validator-S`): keys[0]
 * audits stage S of rounds `fromRound..untilRound`, the others serve its committees. A restart
 * audits from the first round no earlier incarnation logged as `audited` (the validator keeps no
 * journal: that is its only state across restarts).
 */
export function startValidator(p: StartValidatorParameters): SupervisedProcess {
  const [auditor, ...committee] = p.keys;
  let next = p.fromRound;
  const args = () => [
    "validate",
    "--json",
    "--rpc",
    p.rpcUrl,
    "--deployments",
    p.deploymentsFile,
    "--model",
    p.modelId.toString(),
    "--stage",
    String(p.stage),
    "--move-stage",
    "--spec",
    p.specPath,
    "--fraction",
    String(p.fraction),
    "--stake",
    "1",
    "--from-round",
    next.toString(),
    ...(p.untilRound !== undefined ? ["--until-round", p.untilRound.toString()] : []),
    "--poll-ms",
    "250",
    ...(p.extraArgs ?? []),
    ...[...p.peers].flatMap(([w, a]) => ["--peer-of", `${w}=${a}`]),
  ];
  return new SupervisedProcess({
    name: `validator-${p.stage}`,
    script: "worker/cli/main.ts",
    args,
    logFile: p.logDir && path.join(p.logDir, `validator-${p.stage}.log`),
    env: { SHARDHOLDER_KEY: auditor as Hex, SHARDHOLDER_COMMITTEE_KEYS: committee.join(",") },
    onRestart: p.onRestart,
    onEvent: (e) => {
      if (e.msg === "audited" && typeof e.round === "string" && BigInt(e.round) >= next) next = BigInt(e.round) + 1n;
    },
  });
}

/** One validator process per stage (validators hold one stage), each with that stage's keys. */
export function startStageValidators(
  p: Omit<StartValidatorParameters, "stage" | "keys"> & { roles: DevnetRoles; stages: number },
): SupervisedProcess[] {
  return Array.from({ length: p.stages }, (_, stage) => startValidator({ ...p, stage, keys: stageValidatorKeys(p.roles, stage) }));
}

/** The auditor of each stage (stage order): the account whose attestations earn validator rewards. */
export const stageAuditors = (roles: DevnetRoles, stages: number): { stage: number; address: Address; key: Hex; committee: Address[] }[] =>
  Array.from({ length: stages }, (_, stage) => {
    const [key, ...committee] = stageValidatorKeys(roles, stage) as [Hex, ...Hex[]];
    return { stage, address: privateKeyToAccount(key).address, key, committee: committee.map((k) => privateKeyToAccount(k).address) };
  });

/**
 * Whether a stage validator that is still running attested `round` (it then finalizes the round
 * itself, to mint its reward: the devnet lets it rather than race it).
 */
export async function runningValidatorAttested(p: {
  client: PublicClient;
  deployments: Deployments;
  modelId: bigint;
  round: bigint;
  auditors: { address: Address }[];
  validators: ManagedProcess[];
}): Promise<boolean> {
  for (const [s, a] of p.auditors.entries())
    if (
      p.validators[s]?.running &&
      (await getValidatorRound(p.client, { deployments: p.deployments, modelId: p.modelId, round: p.round, validator: a.address })).units >
        0n
    )
      return true;
  return false;
}

/**
 * {@link auditAndResolve} for every stage's validator, as one record of the round: items and
 * compute summed, disputes and voided commitments of all stages.
 */
export async function auditAndResolveAll(
  p: Omit<Parameters<typeof auditAndResolve>[0], "validator"> & { validators: ManagedProcess[] },
): Promise<AuditRecord> {
  const records = await Promise.all(p.validators.map((validator) => auditAndResolve({ ...p, validator })));
  return {
    round: p.round,
    sampled: records.reduce((a, r) => a + r.sampled, 0),
    attested: records.reduce((a, r) => a + r.attested, 0),
    disputes: records.flatMap((r) => r.disputes),
    voided: records.flatMap((r) => r.voided),
    computeMs: records.reduce((a, r) => a + r.computeMs, 0),
  };
}

/** What the validator did in one round (from its `audited` log). */
export type AuditRecord = { round: bigint; sampled: number; attested: number; disputes: bigint[]; voided: Address[]; computeMs: number };

/**
 * Waits for the validator's audit of `round` (the chain is already past its commit window), then
 * for every dispute it opened to be resolved: once a committee has voted, the devnet moves the
 * chain clock past the appeal window (nobody appeals a unanimous verdict here) so the validator
 * can resolve it without waiting the window out in real time.
 */
export async function auditAndResolve(p: {
  validator: ManagedProcess;
  client: PublicClient;
  rpcUrl: string;
  deployments: Deployments;
  round: bigint;
  /** When set, open availability demands of the round get real time to be answered (see answeredAvailability). */
  modelId?: bigint | undefined;
  timeoutMs?: number;
}): Promise<AuditRecord> {
  const e = await p.validator.waitUntil(
    `audit of round ${p.round}`,
    (ev) => ev.msg === "audited" && ev.round === p.round.toString(),
    p.timeoutMs ?? 120_000,
  );
  const disputes = ((e.disputes as string[] | undefined) ?? []).map(BigInt);
  const deadline = Date.now() + (p.timeoutMs ?? 120_000);
  for (const disputeId of disputes) {
    for (;;) {
      const d = await getDispute(p.client, { deployments: p.deployments, disputeId });
      if (d.status !== DisputeStatus.Open) break;
      if (Date.now() > deadline) throw new Error(`dispute ${disputeId} of round ${p.round} was not resolved in time`);
      if (d.appealDeadline !== 0 && (await p.client.getBlock()).timestamp < BigInt(d.appealDeadline))
        await setChainTime(p.rpcUrl, BigInt(d.appealDeadline));
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await answeredAvailability(p);
  return {
    round: p.round,
    sampled: Number(e.sampled ?? 0),
    attested: Number(e.attested ?? 0),
    disputes,
    voided: (e.voided as Address[] | undefined) ?? [],
    computeMs: Number(e.computeMs ?? 0),
  };
}

/** Availability demands of `round` not answered (`ItemRevealed`) nor slashed yet. */
export async function openAvailabilityChallenges(
  client: PublicClient,
  deployments: Deployments,
  modelId: bigint,
  round: bigint,
): Promise<bigint[]> {
  const demands = await getAvailabilityChallenges(client, { deployments, modelId, round });
  return demands.filter((d) => d.status === "open").map((d) => d.challengeId);
}

/**
 * The devnet moves the chain clock, a worker answers a demand in real time: before the clock
 * jumps past a demand's response window, give the demanded workers up to `answerMs` of real
 * time to reveal the leaf (they poll every `--poll-ms`). What is still open then stays open.
 */
async function answeredAvailability(p: {
  client: PublicClient;
  deployments: Deployments;
  round: bigint;
  modelId?: bigint | undefined;
  answerMs?: number | undefined;
}): Promise<void> {
  if (p.modelId === undefined) return;
  const deadline = Date.now() + (p.answerMs ?? 90_000);
  while (Date.now() < deadline && (await openAvailabilityChallenges(p.client, p.deployments, p.modelId, p.round)).length > 0)
    await new Promise((r) => setTimeout(r, 500));
}
