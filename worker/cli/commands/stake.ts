// `shardholder stake`: add stake, keeping the registered payout address and signing key unless
// asked to change them (and saying so when it does), refusing a stake below the model's minimum.
import type { Command } from "commander";
import type { Address } from "viem";
import { connect, lockKey, requireAccount } from "../context.ts";
import { CliError, ExitCode, StakeBelowMinimumError, UnstakedKeyError, UsageError } from "../errors.ts";
import { address, collectUint, etherAmount } from "../parse.ts";

export type StakeOptions = {
  /** Wei added to the stake; 0 only changes the payout address or signing key. */
  amount: bigint;
  /** New payout address (default: the registered one; on a first stake the --key address). */
  payout?: Address | undefined;
  /** Models whose minimum worker stake the total must meet (default: at least one registered model's). */
  model: bigint[];
  /** Replace the registered signing key with --signing-key. */
  rotateSigningKey?: boolean | undefined;
};

export function registerStake(program: Command): void {
  program
    .command("stake")
    .description("stake ETH in the compute ledger; registers the payout address and signing key on the first stake, keeps them on a top-up")
    .requiredOption("--amount <eth>", "stake to add, in ETH (0: only change --payout or the signing key)", etherAmount({ allowZero: true }))
    .option(
      "--payout <address>",
      "address that receives rewards (default: the registered one; on a first stake the --key address)",
      address,
    )
    .option(
      "--model <id>",
      "model whose minimum worker stake the total must meet (repeatable; default: at least one registered model's)",
      collectUint("--model"),
      [],
    )
    .option(
      "--rotate-signing-key",
      "replace the registered signing key with --signing-key (commitments the old key signed and not yet submitted are refused from then on)",
    )
    .action(async (options: StakeOptions, command: Command) => runStake(options, command));
}

async function runStake(options: StakeOptions, command: Command): Promise<void> {
  const connected = await connect(command);
  const { config, logger, client, deployments } = connected;
  const account = requireAccount(config);
  const [{ getStaker }, { stake }, { listModels }, { checkFunded, minWorkerStake }, viem] = await Promise.all([
    import("../../../sdk/actions/miner/getStaker.ts"),
    import("../../../sdk/actions/miner/stake.ts"),
    import("../../../sdk/actions/models/listModels.ts"),
    import("../preflight.ts"),
    import("viem"),
  ]);
  const staker = await getStaker(client, { deployments, account: account.address });
  const registered = staker.signingKey !== viem.zeroAddress;
  if (staker.unbonding)
    throw new UnstakedKeyError({ address: account.address, reason: "is unbonding its stake, which cannot be topped up" });
  if (staker.jailed) throw new UnstakedKeyError({ address: account.address, reason: "is jailed, and a slashed stake cannot be topped up" });
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

  // Signing key: registered on the first stake, kept on a top-up unless --rotate-signing-key.
  let signingKey: Address;
  if (!registered) {
    if (!config.signer)
      throw new CliError("A first stake registers the commitment signing key: pass --signing-key (or env SHARDHOLDER_SIGNING_KEY).", {
        exitCode: ExitCode.missingKey,
        name: "MissingKeyError",
      });
    signingKey = config.signer.address;
  } else if (options.rotateSigningKey) {
    if (!config.signer) throw new UsageError("--rotate-signing-key needs --signing-key: the new key.");
    if (same(config.signer.address, staker.signingKey))
      throw new UsageError(`--rotate-signing-key: ${staker.signingKey} is already the registered signing key.`);
    signingKey = config.signer.address;
  } else {
    if (config.signer && !same(config.signer.address, staker.signingKey))
      throw new CliError(
        `The ledger has signing key ${staker.signingKey} for ${account.address}, --signing-key is ${config.signer.address}: pass --rotate-signing-key to replace it, or leave --signing-key out to keep it.`,
        { exitCode: ExitCode.signingKeyMismatch, name: "SigningKeyMismatchError" },
      );
    signingKey = staker.signingKey;
  }
  const payout = options.payout ?? (registered ? staker.payout : account.address);
  const changes: string[] = [];
  if (registered && !same(payout, staker.payout)) changes.push("payout");
  if (registered && !same(signingKey, staker.signingKey)) changes.push("signingKey");
  if (options.amount === 0n && registered && changes.length === 0)
    throw new UsageError("--amount 0 with the registered payout and signing key changes nothing.");
  if (options.amount === 0n && !registered) throw new UsageError("A first stake needs a positive --amount.");

  // The model's minimum: below it the ledger refuses the worker's commitments and serving.
  const total = staker.stakeWei + options.amount;
  let qualifies: bigint[];
  if (options.model.length) {
    for (const modelId of options.model) {
      const minimumWei = await minWorkerStake(client, deployments, modelId);
      if (total < minimumWei)
        throw new StakeBelowMinimumError({ address: account.address, stakeWei: total, minimumWei, modelIds: [modelId], after: true });
    }
    qualifies = options.model;
  } else {
    const { models } = await listModels(client, { deployments, limit: 1000 });
    qualifies = models.filter((m) => total >= m.minWorkerStakeWei).map((m) => m.modelId);
    if (models.length && qualifies.length === 0) {
      const minimumWei = models.reduce(
        (min, m) => (m.minWorkerStakeWei < min ? m.minWorkerStakeWei : min),
        models[0]?.minWorkerStakeWei ?? 0n,
      );
      throw new StakeBelowMinimumError({
        address: account.address,
        stakeWei: total,
        minimumWei,
        modelIds: models.map((m) => m.modelId),
        after: true,
      });
    }
    const short = models.filter((m) => total < m.minWorkerStakeWei);
    if (short.length)
      logger.warn(
        { models: short.map((m) => `${m.modelId} (minimum ${viem.formatEther(m.minWorkerStakeWei)} ETH)`) },
        "this stake is below the minimum of some models: the ledger refuses their commitments",
      );
  }

  await checkFunded(client, account.address, options.amount === 0n ? 1n : options.amount);
  await lockKey(connected, account.address, "stake");
  const wallet = viem.createWalletClient({ account, transport: viem.http(connected.rpcUrl) });
  const result = await stake(wallet, { deployments, payout, signingKey, valueWei: options.amount });
  if (changes.includes("payout"))
    logger.warn({ from: staker.payout, to: payout }, "payout address changed: rewards minted from now on go to the new address");
  if (changes.includes("signingKey"))
    logger.warn(
      { from: staker.signingKey, to: signingKey },
      "signing key rotated: commitments signed by the old key are refused from now on",
    );
  logger.info(
    {
      txHash: result.transactionHash,
      worker: account.address,
      addedEth: viem.formatEther(options.amount),
      stakeEth: viem.formatEther(total),
      payout,
      signingKey,
      kept: registered ? ["payout", "signingKey"].filter((k) => !changes.includes(k)) : [],
      changed: changes,
      models: qualifies.map(String),
    },
    registered ? "stake topped up" : "staked",
  );
}
