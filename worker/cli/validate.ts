// Wiring of `shardholder validate`: one libp2p node, the re-executor and one Validator per key.
// The first key audits rounds; further keys (`--committee-key`) only vote in committees, so one
// process can hold the committee of a local network without racing its own challenges.
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { type Address, createWalletClient, getAddress, type PublicClient, type Transport, type WalletClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { setValidator } from "../../sdk/actions/miner/setValidator.ts";
import { getValidatorStage } from "../../sdk/actions/validator/getValidatorStage.ts";
import { getStageMember } from "../../sdk/actions/swarm/getStageMember.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { selectBackend } from "../backend/select.ts";
import { loggable } from "./output.ts";
import type { BackendName } from "../backend/select.ts";
import { parseModelSpec, specHash } from "../model/index.ts";
import { createPipeNode } from "../p2p/node.ts";
import { helloDomainOf } from "../p2p/stakedNeighbour.ts";
import { announceStageMember, contentHello, memberDialAddress } from "../p2p/stageMembers.ts";
import { CliError, ExitCode, SpecMismatchError, UsageError } from "./errors.ts";

export type ValidateCommandParameters = {
  logger: Logger;
  /** Long-lived chain access (worker/rpc/transport.ts): survives stalls and endpoint failures. */
  client: PublicClient;
  transport: Transport;
  deployments: Deployments;
  /** The auditing validator first, then committee-only validators. */
  accounts: PrivateKeyAccount[];
  backend?: BackendName | undefined;
  modelId: bigint;
  /** The stage every key of this process validates. */
  stage: number;
  /** A key validating another stage leaves it for `stage` (otherwise it is refused). */
  moveStage?: boolean | undefined;
  specPath: string;
  /** Content server of each worker (`worker=multiaddr`). */
  peers: Map<Address, string>;
  fraction: number;
  /** Stake (wei) of a validator account that is not staked yet; 0 = require an existing stake. */
  stakeWei: bigint;
  fromRound?: bigint | undefined;
  untilRound?: bigint | undefined;
  pollMs: number;
  /** How long an audit retries a worker's manifest before demanding its sampled leaves on-chain. */
  availabilityDeadlineMs?: number | undefined;
};

/** `worker=multiaddr` of `--peer-of`. */
export function parsePeerOf(values: string[]): Map<Address, string> {
  const peers = new Map<Address, string>();
  for (const v of values) {
    const [worker, addr] = [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)];
    if (!/^0x[0-9a-fA-F]{40}$/.test(worker) || !addr.startsWith("/"))
      throw new UsageError(`--peer-of ${v}: expected <worker address>=<multiaddr>.`);
    peers.set(getAddress(worker), addr);
  }
  return peers;
}

/**
 * Puts an already staked account on `p.stage` of `p.modelId` unless it holds that seat already.
 * An account validating another stage is refused unless `moveStage`: moving drops it from that
 * stage's committees, which only its operator may ask for.
 */
async function takeStageSeat(wallet: WalletClient, p: ValidateCommandParameters, account: Address, validator: boolean): Promise<void> {
  const seat = await getValidatorStage(p.client, { deployments: p.deployments, account });
  const here = seat !== undefined && seat.modelId === p.modelId && seat.stage === p.stage;
  if (validator && here) return;
  if (validator && seat) {
    if (!p.moveStage)
      throw new UsageError(
        `Validator ${account} validates stage ${seat.stage} of model ${seat.modelId}; a validator holds one stage (pass --move-stage to leave it, or use another key).`,
      );
    await setValidator(wallet, { deployments: p.deployments, modelId: seat.modelId, stage: seat.stage, validator: false });
  }
  await setValidator(wallet, { deployments: p.deployments, modelId: p.modelId, stage: p.stage, validator: true });
}

/** Audits rounds and serves committees until `untilRound` is audited and its disputes resolved (or SIGINT). */
export async function runValidateCommand(p: ValidateCommandParameters): Promise<void> {
  const { logger } = p;
  const spec = parseModelSpec(readFileSync(p.specPath, "utf8"));
  const model = await getModel(p.client, { deployments: p.deployments, modelId: p.modelId });
  if (model.specHash.toLowerCase() !== specHash(spec).toLowerCase())
    throw new SpecMismatchError({ modelId: p.modelId, registered: model.specHash, file: p.specPath });
  if (p.stage >= model.stageCount) throw new UsageError(`--stage ${p.stage}: model ${p.modelId} has stages 0 to ${model.stageCount - 1}.`);
  const selection = await selectBackend(p.backend ? { backend: p.backend } : {});
  logger.info({ backend: selection.name }, "backend");
  const { Validator, Reexecutor, transformerData, readToleranceSidecar, runValidatorLoop, TOLERANCE_FLOOR } =
    await import("../validator/index.ts");
  const sidecar = readToleranceSidecar(p.specPath, specHash(spec));
  // Without a calibration beside the spec, the floor: miners and validator share this machine's backend.
  const tolerance = sidecar?.tolerance ?? TOLERANCE_FLOOR;
  const node = await createPipeNode();
  const reexecutor = new Reexecutor(spec);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // A worker not named by --peer-of is found by its StageDirectory record (a miner that joined later too).
    const directoryPeer = async (worker: Address): Promise<string | undefined> => {
      const member = await getStageMember(p.client, { deployments: p.deployments, modelId: p.modelId, account: worker });
      return member && memberDialAddress(member);
    };
    const validators = [];
    for (const account of p.accounts) {
      const wallet = createWalletClient({ account, transport: p.transport });
      const v = new Validator({
        wallet,
        publicClient: p.client,
        deployments: p.deployments,
        modelId: p.modelId,
        stage: p.stage,
        stageCount: model.stageCount,
        reexecutor,
        data: transformerData(spec, p.modelId),
        tolerance,
        node,
        peerOf: (w) => p.peers.get(getAddress(w)) ?? directoryPeer(w),
        fraction: p.fraction,
        availabilityDeadlineMs: p.availabilityDeadlineMs,
        // Every verdict as it happens (attestations at debug: there is one per sampled item).
        onLog: (e) => logger[e.type === "attest" ? "debug" : "info"](loggable({ validator: account.address, ...e }), "validator log"),
        // Validators stake with their own address as signing key (stakeAsValidator), so the account signs its hello.
        hello: () =>
          contentHello({
            signer: account,
            domain: helloDomainOf(p.deployments),
            modelId: p.modelId,
            specHash: model.specHash,
            stage: p.stage,
            worker: account.address,
            node,
          }),
      });
      const staker = await getStaker(p.client, { deployments: p.deployments, account: account.address });
      if (staker.stakeWei === 0n) {
        if (p.stakeWei === 0n)
          throw new CliError(`Validator ${account.address} is not staked (pass --stake <eth>).`, {
            exitCode: ExitCode.unstaked,
            name: "NotStakedError",
          });
        await v.stakeAsValidator(p.stakeWei);
      } else {
        await takeStageSeat(wallet, p, account.address, staker.validator);
      }
      // Miners serve this stage's weights to it once its record names this stage and node.
      await announceStageMember({ wallet, client: p.client, deployments: p.deployments, modelId: p.modelId, stage: p.stage, node, logger });
      validators.push(v);
    }
    logger.info({ validators: validators.map((v) => v.address), tolerance, fraction: p.fraction }, "validating");
    const [auditor, ...committee] = validators;
    if (!auditor) throw new UsageError("validate needs a key.");
    const members = committee.map((v) => runValidatorLoop({ validator: v, fromRound: 2n ** 62n, pollMs: p.pollMs, signal: stop.signal }));
    await runValidatorLoop({
      validator: auditor,
      fromRound: p.fromRound,
      untilRound: p.untilRound,
      pollMs: p.pollMs,
      signal: stop.signal,
      onAudit: (round, a) =>
        logger.info(
          {
            round: round.toString(),
            sampled: a.sampled,
            attested: a.attested,
            attestedOnChain: a.attestedOnChain,
            weightsBreaks: a.weightsBreaks,
            voided: a.voided,
            disputes: a.disputes.map(String),
            computeMs: Math.round(a.computeMs),
          },
          "audited",
        ),
      onReward: (round, tokens) => logger.info({ round: round.toString(), tokens: tokens.toString() }, "validator reward minted"),
    });
    stop.abort();
    await Promise.all(members);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await node.stop();
  }
}
