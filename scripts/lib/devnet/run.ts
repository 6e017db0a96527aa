// The main job end to end. Each step lives in its module; this file runs them in order, keeps
// the list of child processes, and always stops them (error, Ctrl-C or success).
import { mkdir } from "node:fs/promises";
import path from "node:path";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  erc20Abi,
  formatEther,
  type Hex,
  http,
  keccak256,
  parseEther,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { claimRevenue, getAcceptedCommitments, getClaimable, getModel, getSlashes, registerModel } from "./sdkFacade.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import { selectBackend } from "../../../worker/backend/select.ts";
import type { SamplingParameters } from "../../../worker/model/generate.ts";
import { startServingPipeline } from "../../../worker/serve/launch.ts";
import type { ManagedProcess, RestartRecord } from "./supervisor.ts";
import { devnetRoles } from "./accounts.ts";
import { attachChain, type DevChain, startLocalChain } from "./chain.ts";
import { payForInference, type InferenceOutcome } from "./client.ts";
import { type MinerProcessParameters, minersOf, stakeMiners, startMiners } from "./miners.ts";
import { DevnetSwarm, type SwarmRecord, swarmApplies, swarmMiners, swarmPlan } from "./swarm.ts";
import { demoModelSpec, demoRegistryTerms, untrainedCompletion, writeSpecFile } from "./model.ts";
import { startSpecServer, writeNetworkFile } from "./network.ts";
import { getServingEndpoints } from "../../../sdk/actions/inference/getServingEndpoints.ts";
import { canonicalSpecJson, specHash } from "../../../worker/model/spec.ts";
import { specUrl } from "../../../worker/model/specSource.ts";
import { registerServingPipeline } from "./pipeline.ts";
import { describeTopUps, fundRoles, pickCheaterKeys, roleAccounts, stakedMiners } from "./preflight.ts";
import { settleValidatorRewards, type ValidatorRoundReward } from "./validatorRewards.ts";
import { allCommitted, RoundTracker, type SettledRound, settleRound } from "./rounds.ts";
import {
  type AuditRecord,
  auditAndResolveAll,
  cheaterRound,
  contentAddress,
  runningValidatorAttested,
  stageAuditors,
  startCheater,
  startStageValidators,
} from "./verification.ts";

export type DevnetOptions = {
  stages: number;
  rounds: number;
  /** Optimizer steps in each round (default: the demo model's). */
  stepsPerRound?: number | undefined;
  requests: number;
  cheater: boolean;
  rpc?: string | undefined;
  deployments?: string | undefined;
  /** Registers the model, relays finalize/mint and funds the other roles (default: dev account 0). */
  deployerKey?: Hex | undefined;
  runsDir: string;
  log: (message: string, fields?: Record<string, unknown>) => void;
  signal: AbortSignal;
  /** Sampling temperature of the served inferences; 0 = greedy. */
  temperature: number;
  topK: number;
  /** Extra flags of every `shardholder train` process. */
  minerArgs?: string[] | undefined;
  /**
   * The last stage runs as a swarm (`train --swarm`): two replicas from the first round, one killed
   * with -9 mid-round and restarted, and a miner that stakes and joins while the network runs.
   */
  swarm?: boolean | undefined;
  /**
   * Leave the network up after the run: miners keep serving their committed content, a validator
   * keeps auditing new rounds, the serving pipeline keeps serving, and `network.json` is written.
   */
  keepRunning?: boolean | undefined;
  /** Called with the result while every process still runs (the devnet prints its summary here and, with keepRunning, waits). */
  onResult?: ((result: DevnetResult) => Promise<void>) | undefined;
};

export type ClaimRecord = { holder: Address; claimableWei: bigint; claimedWei: bigint; gasUsed: bigint };

/** Everything the summary reports, as measured. */
export type DevnetResult = {
  runDir: string;
  chainId: number;
  rpcUrl: string;
  modelId: bigint;
  token: Address;
  stages: number;
  /** Optimizer steps in each round (the spec's `stepsPerRound`). */
  stepsPerRound: number;
  /** One miner per stage (stage order); the last stage's other replicas are in `swarm`. */
  miners: Address[];
  designer: Address;
  /** Compute units per microbatch of each stage (a commitment's units = its items x this). */
  unitsPerMicrobatch: bigint[];
  /** The last stage's replicas, who joined and left, and how each round was routed (swarm mode). */
  swarm?: SwarmRecord | undefined;
  rounds: SettledRound[];
  requests: InferenceOutcome[];
  claims: ClaimRecord[];
  tokenBalances: { holder: Address; balance: bigint }[];
  slashes: { worker: Address; round: bigint; slashedWei: bigint }[];
  gas: Record<string, bigint[]>;
  tokenEthAfterClaims: bigint;
  childPids: number[];
  /** Exits of miners and the validator that the supervisor answered with a restart. */
  restarts: RestartRecord[];
  cheater: { requested: boolean; wired: boolean; note: string; address?: Address | undefined; committedRounds: bigint[] };
  /**
   * The validators, one process per stage (validators hold one stage): each round's audits of all
   * stages as one record, and per stage its auditor, committee and on-chain rewards.
   */
  validator: {
    fraction: number;
    audits: AuditRecord[];
    stages: { stage: number; address: Address; committee: Address[]; rewards: ValidatorRoundReward[] }[];
  };
  /**
   * How the served tokens were chosen: temperature and top-k (each request draws with its own seed,
   * `requestSamplingSeed(requestId, inputHash)`; `seed` is the untrained baseline's).
   */
  sampling: SamplingParameters | "greedy";
  /** The first prompt's completion by the initial weights, decoded the same way (the baseline). */
  untrained: { prompt: string; output: string };
  timingsMs: Record<string, number>;
  /** The token's name and symbol (unique per run), and where the spec is served by its hash. */
  tokenName: string;
  tokenSymbol: string;
  metadataURI: string;
  /** `runs/<time>/network.json`, written with keepRunning. */
  networkFile?: string | undefined;
};

const MAX_NEW_TOKENS = 24;
const PROMPTS = ["The jury said ", "It was the ", "In the morning ", "He said that ", "The city of ", "She had been "];

/** Runs the whole network; children are tracked in `children` so the caller can always stop them. */
export async function runDevnet(o: DevnetOptions, children: ManagedProcess[]): Promise<DevnetResult> {
  const t0 = performance.now();
  const timingsMs: Record<string, number> = {};
  const mark = (name: string) => (timingsMs[name] = Math.round(performance.now() - t0));
  const runDir = path.join(o.runsDir, new Date().toISOString().replace(/[:.]/g, "-"));
  await mkdir(runDir, { recursive: true });
  // An existing chain is checked before anything heavy loads, so a bad --rpc fails in a second.
  const attached = o.rpc && o.deployments ? await attachChain(o.rpc, o.deployments) : undefined;
  const backend = await selectBackend({});
  o.log(`backend ${backend.name}`);
  // Its own chain's address book goes in the run's directory: deployments/<chainId>.json may
  // belong to a chain that is still running (`shardholder chain`), and is never overwritten.
  const chain: DevChain = attached ?? (await startLocalChain({ deploymentsDir: path.join(runDir, "deployments") }));
  const closers: (() => Promise<void>)[] = [];
  try {
    mark("chain");
    o.log(`chain ${chain.deployments.chainId} at ${chain.rpcUrl}, address book ${chain.deploymentsFile}`);
    const result = await runOnChain(o, chain, runDir, children, { t0, timingsMs, mark }, closers);
    await o.onResult?.(result);
    return result;
  } finally {
    await Promise.allSettled(children.map((c) => c.stop()));
    await Promise.allSettled(closers.map((c) => c()));
    await chain.close();
  }
}

async function runOnChain(
  o: DevnetOptions,
  chain: DevChain,
  runDir: string,
  children: ManagedProcess[],
  clock: { t0: number; timingsMs: Record<string, number>; mark: (name: string) => void },
  closers: (() => Promise<void>)[],
): Promise<DevnetResult> {
  const { deployments, rpcUrl } = chain;
  const transport = http(rpcUrl);
  const client = createPublicClient({ transport }) as PublicClient;
  const wallet = (key: Hex) => createWalletClient({ account: privateKeyToAccount(key), transport });
  const roles = devnetRoles(o.stages);
  if (o.deployerKey) roles.deployer = o.deployerKey;
  const designer = wallet(roles.deployer);
  // A chain used before has a jailed cheater from the last run: cheat with the next fresh key.
  if (o.cheater) roles.cheater = await pickCheaterKeys(client, deployments);
  o.log(
    describeTopUps(
      await fundRoles(
        client,
        designer,
        roleAccounts(roles, o.requests, o.cheater ? roles.cheater.key : undefined, await stakedMiners(client, deployments, roles)),
      ),
    ),
  );
  const gas: Record<string, bigint[]> = {};
  // Every child is logged with its pid, so an interrupted run can be checked for stray processes.
  const track = (...procs: ManagedProcess[]) => {
    children.push(...procs);
    for (const p of procs) o.log(`started ${p.name} (pid ${p.pid})`, { child: p.name, pid: p.pid });
  };
  const addGas = (op: string, g: bigint) => (gas[op] ??= []).push(g);

  const spec = demoModelSpec(o.stages, { stepsPerRound: o.stepsPerRound });
  const specPath = path.join(runDir, "model-spec.json");
  await writeSpecFile(spec, specPath);
  // The spec, content-addressed: served by its hash, the metadata URI points there, and the
  // serving pipeline's stage 0 serves it too (a joining miner checks it against the chain's specHash).
  const hash = specHash(spec).toLowerCase() as Hex;
  const specServer = await startSpecServer(new Map([[hash, canonicalSpecJson(spec)]]));
  closers.push(specServer.close);
  const runId = path.basename(runDir);
  const metadataURI = specUrl(specServer.url, hash);
  const terms = demoRegistryTerms(spec, { runId, metadataURI });
  const reg = await registerModel(designer, { deployments, spec: terms });
  addGas("registerModel", reg.receipt.gasUsed);
  const { modelId, token } = reg;
  o.log(`registered model ${modelId} (${o.stages} stages, token ${terms.symbol} "${terms.name}" at ${token}); spec at ${metadataURI}`);
  const sampling = devnetSampling(o, modelId);
  const untrained = { prompt: PROMPTS[0] as string, output: untrainedCompletion(spec, PROMPTS[0] as string, MAX_NEW_TOKENS, sampling) };
  o.log(`untrained model: ${JSON.stringify(untrained.prompt)} -> ${JSON.stringify(untrained.output)}`);
  const journals = path.join(runDir, "journals");
  const stageMiners = minersOf(roles.miners, roles.signers, journals);
  const swarmSet = o.swarm !== false && swarmApplies(o.stages) ? swarmMiners(stageMiners, roles, journals) : undefined;
  const miners = swarmSet?.miners ?? stageMiners;
  // Miners that start now: one per stage, and the last stage's second replica in swarm mode.
  const starting = swarmSet ? [...miners, swarmSet.crashing] : miners;
  const cheaterMiner = {
    stage: o.stages - 1,
    key: roles.cheater.key,
    signingKey: roles.cheater.signingKey,
    address: privateKeyToAccount(roles.cheater.key).address,
    journalDir: "",
  };
  for (const g of await stakeMiners({ rpcUrl, deployments, miners: o.cheater ? [...starting, cheaterMiner] : starting }))
    addGas("stake", g);
  clock.mark("registered");

  const tracker = new RoundTracker();
  const model = await getModel(client, { deployments, modelId });
  const first = model.currentRound;
  const last = first + BigInt(o.rounds - 1);
  // Supervised like a real operator's: an exit is answered with a restart of the same command,
  // and only a crash loop (the supervisor gave up) stops the devnet.
  const restarts: RestartRecord[] = [];
  const onRestart = (r: RestartRecord) => {
    restarts.push(r);
    o.log(`${r.name} (pid ${r.pid}) exited with ${r.code}; restarting it with the same command in ${r.delayMs} ms`, {
      child: r.name,
      pid: r.pid,
      exitCode: r.code,
    });
  };
  const logDir = path.join(runDir, "logs");
  await mkdir(logDir, { recursive: true });
  const minerParams: MinerProcessParameters = {
    rpcUrl,
    deploymentsFile: chain.deploymentsFile,
    modelId,
    specPath,
    untilRound: last,
    onRestart,
    extraArgs: o.minerArgs,
    // No --peer: every stage finds the next one in the on-chain stage directory.
    discover: true,
    logDir,
    onRound: (l) => {
      tracker.add(l);
      if (l.loss !== undefined)
        o.log(
          `round ${l.round}: stage ${l.stage} ${swarmSet ? `${l.worker} ` : ""}committed${l.items !== undefined ? ` ${l.items} microbatches` : ""}, loss ${l.loss.toFixed(3)}`,
        );
    },
  };
  const startedProcs = await startMiners({ ...minerParams, miners: starting, signal: o.signal });
  const minerProcs = startedProcs.slice(0, miners.length);
  track(...startedProcs);
  for (const p of startedProcs) void p.exit.then(() => p.gaveUp && tracker.fail(p.gaveUp));
  o.signal.addEventListener("abort", () => tracker.fail(new Error("interrupted")));
  const peers = new Map<Address, string>();
  for (const [s, p] of startedProcs.entries()) peers.set((starting[s] as { address: Address }).address, await contentAddress(p));
  const swarm =
    swarmSet &&
    new DevnetSwarm({
      set: swarmSet,
      plan: swarmPlan(first, o.rounds),
      procs: startedProcs,
      minerParams,
      stake: async (m) => {
        for (const g of await stakeMiners({ rpcUrl, deployments, miners: [m] })) addGas("stake", g);
      },
      track,
      log: o.log,
    });
  // The cheater: a replica of the last stage that copies the honest miner's public activations and
  // commits made-up gradients for the first round (then it is slashed and jailed).
  const cheater = o.cheater
    ? startCheater({
        rpcUrl,
        deploymentsFile: chain.deploymentsFile,
        modelId,
        stage: cheaterMiner.stage,
        key: cheaterMiner.key,
        signingKey: cheaterMiner.signingKey,
        honest: {
          worker: (miners[o.stages - 1] as { address: Address }).address,
          address: peers.get((miners[o.stages - 1] as { address: Address }).address) as string,
        },
        fromRound: first,
        rounds: 1,
      })
    : undefined;
  if (cheater) {
    track(cheater);
    peers.set(cheaterMiner.address, await contentAddress(cheater));
    o.log(`cheater ${cheaterMiner.address}: a stage-${cheaterMiner.stage} replica committing fabricated gradients`);
  }
  // The protocol's sampling rate (ATTEST_SAMPLE_BPS): a cheat on every item of a round of many steps is caught w.p. ~1.
  const fraction = 0.1;
  const auditors = stageAuditors(roles, o.stages);
  const validators = startStageValidators({
    rpcUrl,
    deploymentsFile: chain.deploymentsFile,
    modelId,
    specPath,
    roles,
    stages: o.stages,
    peers,
    fraction,
    fromRound: first,
    untilRound: last,
    onRestart,
    logDir,
  });
  for (const v of validators) {
    track(v);
    void v.exit.then(() => v.gaveUp && tracker.fail(v.gaveUp));
  }
  await Promise.all(validators.map((v) => v.waitUntil("validating", (e) => e.msg === "validating", 120_000)));
  o.log(
    `validators of ${o.stages} stages staked (one stage each: ${auditors.map((a) => `stage ${a.stage} ${a.address}`).join(", ")}), sampling ${fraction * 100}% of every commitment`,
  );
  const audits: AuditRecord[] = [];
  const cheaterRounds: bigint[] = [];
  const rounds: SettledRound[] = [];
  for (let i = 0; i < o.rounds; i++) {
    const round = first + BigInt(i);
    await swarm?.enterRound(round);
    // Who commits the round: every stage's miner, or in swarm mode the replicas the routing stage's roster names.
    const members = swarm ? await swarm.committers(round) : miners.map((m) => ({ stage: m.stage, worker: m.address }));
    // Logs, or the chain: a miner killed between its commitment and its log never reports the round.
    const logs = await tracker.waitCommitted(round, members, allCommitted(client, deployments, modelId, round, members));
    await swarm?.readyForNextRound(round);
    if (cheater && (await cheaterRound(cheater, round))) cheaterRounds.push(round);
    const settled = await settleRound({
      rpcUrl,
      relayer: designer,
      deployments,
      modelId,
      round,
      genesisTime: BigInt(model.genesisTime),
      commitWindowSec: BigInt(model.timing.commitWindowSec),
      challengeWindowSec: BigInt(model.timing.challengeWindowSec),
      workers: members.map((m) => m.worker),
      logs,
      // A validator finalizes rounds it attested (to mint its reward): let it, rather than race it.
      othersFinalize: () => runningValidatorAttested({ client, deployments, modelId, round, auditors, validators }),
      duringChallenge: async () => {
        const a = await auditAndResolveAll({ validators, client, rpcUrl, deployments, round, modelId });
        audits.push(a);
        o.log(
          `round ${round} audited: ${a.sampled} items re-executed (${a.computeMs} ms), ${a.attested} attested, ${a.disputes.length} disputes${a.disputes.length ? " resolved" : ""}${a.voided.length ? `, ${a.voided.length} copies voided` : ""}`,
        );
      },
    });
    addGas("finalizeRound", settled.finalizeGas);
    for (const m of settled.mints) addGas("mintReward", m.gasUsed);
    rounds.push(settled);
    o.log(`round ${round} finalized: loss ${settled.loss?.toFixed(3)}, minted ${settled.mints.length} rewards`);
  }
  // Every round is audited and settled: the miners may stop serving their content.
  const finishing = swarm ? swarm.finishing(minerProcs, last) : minerProcs;
  await Promise.all(
    finishing.map((p) => p.waitUntil("training done", (e) => e.msg === "training done; serving committed content until stopped", 60_000)),
  );
  // Kept running, they go on serving their committed content (weights of every round) to peers.
  if (!o.keepRunning) {
    const all = swarm ? swarm.allProcs(minerProcs) : minerProcs;
    await Promise.all(all.map((p) => p.stop(10_000)));
    // A replica the run ended before it was linked again waits for a link when stopped: only finished miners must exit cleanly.
    for (const p of finishing) if ((await p.exit) !== 0) throw new Error(`${p.name} exited with ${await p.exit} when stopped`);
  }
  // The validators are done too (each stops after its last round); the rewards they did not mint, the devnet mints.
  await Promise.all(validators.map((v) => v.stop(10_000)));
  const validatorStages: DevnetResult["validator"]["stages"] = [];
  for (const a of auditors) {
    const rewards = await settleValidatorRewards({
      client,
      relayer: designer,
      deployments,
      modelId,
      rounds: rounds.map((r) => r.round),
      validator: a.address,
    });
    for (const v of rewards) if (v.mintGas !== undefined) addGas("mintValidatorReward", v.mintGas);
    o.log(
      `stage-${a.stage} validator ${a.address}: ${rewards.reduce((t, v) => t + v.attestedItems, 0)} items attested on-chain, ${formatEther(rewards.reduce((t, v) => t + v.tokens, 0n))} tokens minted`,
    );
    validatorStages.push({ stage: a.stage, address: a.address, committee: a.committee, rewards });
  }
  clock.mark("trained");
  await collectCommitmentGas(client, deployments, modelId, addGas);

  // The serving pipeline exists on-chain only with every stage operator's consent; requests name it.
  const pipeline = await registerServingPipeline({ client, transport, deployments, modelId, operatorKeys: miners.map((m) => m.key) });
  if (pipeline.gasUsed !== undefined) addGas("registerPipeline", pipeline.gasUsed);
  o.log(`pipeline ${pipeline.pipelineKey} registered with the consent of its ${new Set(pipeline.stageOperators).size} operators`);
  o.log(
    `starting the serving pipeline on the trained weights (${sampling ? `sampling at temperature ${sampling.temperature}, top-${sampling.topK}` : "greedy"})`,
  );
  const serving = await startServingPipeline(
    o.stages,
    (s) => ({
      specPath,
      modelId: modelId.toString(),
      wire: "float32",
      journalDir: (miners[s] as { journalDir: string }).journalDir,
      // The last stage draws with each request's seed (docs/PROTOCOL.md "Verified inference").
      ...(sampling ? { sampling: { temperature: sampling.temperature, topK: sampling.topK } } : {}),
      // Each stage signs its frames and its serving commitment with its own operator's key.
      key: (miners[s] as { key: Hex }).key,
      stageOperators: miners.map((m) => m.address),
      deploymentsPath: chain.deploymentsFile,
      ...(s === 0 ? { operator: { rpcUrls: [rpcUrl], maxNewTokens: MAX_NEW_TOKENS } } : {}),
    }),
    undefined,
    o.signal,
  );
  track(...serving.stages);
  clock.mark("servingReady");
  o.log(
    `stage 0 announced its endpoint ${String(serving.stages[0]?.all("announced")[0]?.url)} in the ServingDirectory; dapps find it through the SDK's infer`,
  );
  const requests: InferenceOutcome[] = [];
  for (let i = 0; i < o.requests; i++) {
    if (o.signal.aborted) throw new Error("interrupted");
    const dapp = wallet(roles.clients[i % roles.clients.length] as Hex);
    const outcome = await payForInference({
      wallet: dapp,
      deployments,
      modelId,
      prompt: PROMPTS[i % PROMPTS.length] as string,
      feeWei: parseEther("0.01") * BigInt(1 + (i % 3)),
    });
    addGas("requestInference", outcome.requestGas);
    requests.push(outcome);
    o.log(
      `request ${outcome.requestId}: ${JSON.stringify(outcome.prompt)} -> ${JSON.stringify(outcome.output)} (${Math.round(outcome.latencyMs)} ms)`,
    );
  }
  for (const s of serving.stages[0]?.all("served") ?? [])
    if (s.status === "fulfilled") addGas("fulfillInference", BigInt(String(s.gasUsed)));
  if (!o.keepRunning) await Promise.all(serving.stages.map((p) => p.stop(10_000)));
  clock.mark("served");

  // Everyone the model minted tokens to claims: miners, the designer, and the validators that earned any.
  const validatorHolders = auditors.filter((a, s) => validatorStages[s]?.rewards.some((v) => v.tokens > 0n && v.payout === a.address));
  const holderKeys: { holder: Address; key: Hex }[] = [
    ...miners.map((m) => ({ holder: m.address, key: m.key })),
    ...(swarm?.extraMiners() ?? []).map((m) => ({ holder: m.address, key: m.key })),
    { holder: designer.account.address, key: roles.deployer },
    ...validatorHolders.map((a) => ({ holder: a.address, key: a.key })),
  ];
  const holders = holderKeys.map((h) => h.holder);
  const claims: ClaimRecord[] = [];
  for (const { holder, key } of holderKeys) {
    const { totalWei } = await getClaimable(client, { deployments, holder, modelIds: [modelId] });
    const r = await claimRevenue(wallet(key), { deployments, modelId });
    addGas("claimRevenue", r.receipt.gasUsed);
    claims.push({ holder, claimableWei: totalWei, claimedWei: r.amountWei, gasUsed: r.receipt.gasUsed });
  }
  const tokenBalances = await Promise.all(
    holders.map(async (holder) => ({
      holder,
      balance: await client.readContract({ abi: erc20Abi, address: token, functionName: "balanceOf", args: [holder] }),
    })),
  );
  const tokenEthAfterClaims = await client.getBalance({ address: token });
  const slashes = (await getSlashes(client, { deployments, modelId })).map((s) => ({
    worker: s.worker,
    round: s.round,
    slashedWei: s.slashedWei,
  }));
  clock.mark("claimed");
  let networkFile: string | undefined;
  if (o.keepRunning) {
    // Validators that stay, one per stage: they audit the rounds after this run's (a joining miner's too).
    const staying = startStageValidators({
      rpcUrl,
      deploymentsFile: chain.deploymentsFile,
      modelId,
      specPath,
      roles,
      stages: o.stages,
      peers,
      fraction,
      fromRound: last + 1n,
      onRestart,
    });
    for (const v of staying) track(v);
    await Promise.all(staying.map((v) => v.waitUntil("validating", (e) => e.msg === "validating", 120_000)));
    const { endpoints } = await getServingEndpoints(client, { deployments, modelId });
    networkFile = await writeNetworkFile(runDir, {
      chainId: deployments.chainId,
      rpcUrl,
      deploymentsFile: chain.deploymentsFile,
      deployments,
      model: {
        id: modelId.toString(),
        name: terms.name,
        symbol: terms.symbol,
        token,
        stages: o.stages,
        specHash: hash,
        metadataURI,
        specFile: specPath,
      },
      serving: endpoints.map((e) => ({ modelId: modelId.toString(), operator: e.entryOperator, url: e.url })),
      peers: [
        ...miners.map((m) => ({ stage: m.stage, worker: m.address, multiaddr: peers.get(m.address) as string })),
        ...((await swarm?.replicaPeers()) ?? []),
      ].map((x) => ({ modelId: modelId.toString(), ...x })),
      specServer: specServer.url,
      validators: auditors.map((a) => a.address),
      roles,
    });
  }
  return {
    runDir,
    chainId: deployments.chainId,
    rpcUrl,
    modelId,
    token,
    stages: o.stages,
    stepsPerRound: spec.stepsPerRound,
    miners: miners.map((m) => m.address),
    designer: designer.account.address,
    unitsPerMicrobatch: [...model.unitsPerMicrobatch],
    swarm: await swarm?.record(),
    rounds,
    requests,
    claims,
    tokenBalances,
    slashes,
    gas,
    tokenEthAfterClaims,
    // Every incarnation of every child (a restarted miner has several), so none is left running.
    childPids: children
      .flatMap((c) => ("pids" in c && Array.isArray(c.pids) ? (c.pids as number[]) : [c.pid]))
      .filter((p): p is number => p !== undefined),
    restarts,
    cheater: o.cheater
      ? {
          requested: true,
          wired: true,
          note: `stage-${cheaterMiner.stage} replica committing fabricated gradients`,
          address: cheaterMiner.address,
          committedRounds: cheaterRounds,
        }
      : { requested: false, wired: true, note: "--no-cheater", committedRounds: [] },
    validator: { fraction, audits, stages: validatorStages },
    sampling: sampling ?? "greedy",
    untrained,
    timingsMs: clock.timingsMs,
    tokenName: terms.name,
    tokenSymbol: terms.symbol,
    metadataURI,
    networkFile,
  };
}

async function collectCommitmentGas(
  client: PublicClient,
  deployments: Deployments,
  modelId: bigint,
  addGas: (op: string, g: bigint) => void,
) {
  const accepted = await getAcceptedCommitments(client, { deployments, modelId });
  const txs = [...new Set(accepted.map((c) => c.transactionHash))];
  for (const hash of txs) {
    const receipt = await client.getTransactionReceipt({ hash });
    const perTx = accepted.filter((c) => c.transactionHash === hash).length;
    addGas("submitCommitments (per commitment)", receipt.gasUsed / BigInt(perTx));
  }
}

/**
 * The serving pipeline's sampling terms (undefined = greedy). Served requests draw with their own
 * seed (`requestSamplingSeed`); the seed here, fixed by the model id, draws the untrained baseline.
 */
export function devnetSampling(o: Pick<DevnetOptions, "temperature" | "topK">, modelId: bigint): SamplingParameters | undefined {
  if (o.temperature === 0) return undefined;
  const seed = keccak256(encodeAbiParameters([{ type: "string" }, { type: "uint64" }], ["shardholder devnet sampling", modelId]));
  return { temperature: o.temperature, topK: o.topK, seed };
}
