// `shardholder holdings` and `shardholder claim`: a holder's model tokens and the inference
// revenue they earned, with the gas cost beside each claimable amount; a claim whose gas would
// cost at least what it pays is refused unless --force.
import type { Command } from "commander";
import type { Address } from "viem";
import { connect, lockKey, requireAccount } from "../context.ts";
import { ClaimNotWorthGasError, UsageError } from "../errors.ts";
import type { ClaimQuote, Holding } from "../holders.ts";
import { address, collectUint } from "../parse.ts";

export type HoldingsOptions = { holder?: Address | undefined; model: bigint[]; all?: boolean | undefined };
export type ClaimOptions = { model: bigint[]; all?: boolean | undefined; force?: boolean | undefined };

export function registerHoldings(program: Command): void {
  program
    .command("holdings")
    .description("a holder's model tokens and claimable revenue, with what claiming each would cost in gas (read-only)")
    .option("--holder <address>", "the holder to show (default: the --key address)", address)
    .option("--model <id>", "only this model (repeatable)", collectUint("--model"), [])
    .option("--all", "every registered model, also those the holder has nothing of")
    .action(async (options: HoldingsOptions, command: Command) => {
      const connected = await connect(command);
      const holder = options.holder ?? connected.config.account?.address;
      if (!holder) throw new UsageError("holdings needs --holder <address> (or --key, whose address it then shows).");
      const { readHoldings } = await import("../holders.ts");
      const read = await readHoldings(connected.client, {
        deployments: connected.deployments,
        holder,
        modelIds: options.model,
        all: options.all,
      });
      if (connected.config.json) {
        connected.logger.info(
          {
            holder,
            gasPriceWei: read.gasPriceWei.toString(),
            holdings: read.holdings.map(holdingJson),
            claimAll: read.claimAll && quoteJson(read.claimAll),
          },
          "holdings",
        );
        return;
      }
      process.stdout.write(`${await holdingsText(holder, read.holdings, read.claimAll)}\n`);
    });
}

export function registerClaim(program: Command): void {
  program
    .command("claim")
    .description(
      "claim the --key holder's revenue of one model (--model) or of every model in one transaction (--all); refused when its gas would cost at least what it pays",
    )
    .option("--model <id>", "claim this model's revenue (repeatable: several in one transaction)", collectUint("--model"), [])
    .option("--all", "claim every model with revenue to claim, in one transaction")
    .option("--force", "claim even when the gas costs more than the claim pays")
    .action(async (options: ClaimOptions, command: Command) => runClaim(options, command));
}

async function runClaim(options: ClaimOptions, command: Command): Promise<void> {
  if (options.all && options.model.length) throw new UsageError("claim takes --model <id> or --all, not both.");
  if (!options.all && options.model.length === 0) throw new UsageError("claim needs --model <id> (repeatable) or --all.");
  const connected = await connect(command);
  const { logger, deployments, client } = connected;
  const account = requireAccount(connected.config);
  const [{ getClaimable }, { quoteClaim }, { formatUnits18 }, viem] = await Promise.all([
    import("../../../sdk/actions/holders/getClaimable.ts"),
    import("../holders.ts"),
    import("../output.ts"),
    import("viem"),
  ]);
  const claimable = await getClaimable(client, { deployments, holder: account.address, modelIds: options.all ? undefined : options.model });
  const targets = claimable.models.filter((m) => m.claimableWei > 0n);
  if (targets.length === 0) {
    logger.info({ holder: account.address, models: claimable.models.map((m) => m.modelId.toString()) }, "nothing to claim");
    return;
  }
  const quote = await quoteClaim(client, { deployments, holder: account.address, targets });
  const ethOf = (wei: bigint) => formatUnits18(wei, 9);
  if (quote.costWei >= quote.totalWei) {
    if (!options.force)
      throw new ClaimNotWorthGasError({
        claimableWei: quote.totalWei,
        gasCostWei: quote.costWei,
        gas: quote.gas,
        gasPriceWei: quote.gasPriceWei,
      });
    logger.warn(
      { claimableEth: ethOf(quote.totalWei), gasCostEth: ethOf(quote.costWei) },
      "claiming at a loss (--force): the gas costs more than the claim pays",
    );
  }
  await lockKey(connected, account.address, "claim");
  const wallet = viem.createWalletClient({ account, transport: viem.http(connected.rpcUrl) });
  let claimedWei: bigint;
  let receipt;
  if (quote.via === "claim") {
    const { claimRevenue } = await import("../../../sdk/actions/holders/claimRevenue.ts");
    const r = await claimRevenue(wallet, { deployments, modelId: quote.modelIds[0] as bigint });
    claimedWei = r.amountWei;
    receipt = r.receipt;
  } else {
    const { claimAll } = await import("../../../sdk/actions/holders/claimAll.ts");
    const r = await claimAll(wallet, { deployments, modelIds: quote.modelIds });
    claimedWei = r.totalWei;
    receipt = r.receipt;
  }
  const gasCostWei = receipt ? receipt.gasUsed * receipt.effectiveGasPrice : 0n;
  logger.info(
    {
      holder: account.address,
      models: quote.modelIds.map(String),
      claimedEth: ethOf(claimedWei),
      gasCostEth: ethOf(gasCostWei),
      netEth: ethOf(claimedWei - gasCostWei),
      txHash: receipt?.transactionHash,
    },
    "claimed",
  );
}

function holdingJson(h: Holding) {
  return {
    modelId: h.modelId.toString(),
    token: h.token,
    name: h.name,
    symbol: h.symbol,
    balanceTokens: h.balanceTokens.toString(),
    totalSupplyTokens: h.totalSupplyTokens.toString(),
    claimableWei: h.claimableWei.toString(),
    ...(h.claim
      ? { claimGas: h.claim.gas.toString(), claimCostWei: h.claim.costWei.toString(), worthClaiming: h.claim.costWei < h.claimableWei }
      : {}),
  };
}

function quoteJson(q: ClaimQuote) {
  return {
    via: q.via,
    modelIds: q.modelIds.map(String),
    totalWei: q.totalWei.toString(),
    gas: q.gas.toString(),
    gasPriceWei: q.gasPriceWei.toString(),
    costWei: q.costWei.toString(),
    worthClaiming: q.costWei < q.totalWei,
  };
}

async function holdingsText(holder: Address, holdings: Holding[], claimAll: ClaimQuote | undefined): Promise<string> {
  const { formatTable, formatUnits18 } = await import("../output.ts");
  if (holdings.length === 0) return `holder ${holder} holds no model tokens and has no revenue to claim (--all lists every model)`;
  const eth = (wei: bigint) => formatUnits18(wei, 9);
  const share = (h: Holding) =>
    h.totalSupplyTokens === 0n ? "-" : `${(Number((h.balanceTokens * 1_000_000n) / h.totalSupplyTokens) / 10_000).toFixed(4)}%`;
  const rows = [["model", "token", "address", "balance", "share", "claimable ETH", "claim gas ETH", ""]];
  for (const h of holdings)
    rows.push([
      h.modelId.toString(),
      h.symbol,
      h.token,
      formatUnits18(h.balanceTokens, 4),
      share(h),
      eth(h.claimableWei),
      h.claim ? eth(h.claim.costWei) : "-",
      h.claim ? (h.claim.costWei >= h.claimableWei ? "gas exceeds claim" : "") : "",
    ]);
  const lines = [`holder ${holder}`, formatTable(rows, { rightAligned: [0, 3, 4, 5, 6] })];
  if (claimAll) {
    const verdict =
      claimAll.costWei >= claimAll.totalWei
        ? "not worth it yet (claim --force to claim anyway)"
        : `nets ${eth(claimAll.totalWei - claimAll.costWei)} ETH`;
    const how =
      claimAll.via === "claimAll"
        ? `shardholder claim --all (one transaction for ${claimAll.modelIds.length} models)`
        : `shardholder claim --model ${claimAll.modelIds[0]}`;
    lines.push(
      `claim everything: ${eth(claimAll.totalWei)} ETH for about ${eth(claimAll.costWei)} ETH of gas (${claimAll.gas} gas at ${formatUnits18(claimAll.gasPriceWei * 10n ** 9n, 3)} gwei): ${verdict}; ${how}`,
    );
  }
  return lines.join("\n");
}
