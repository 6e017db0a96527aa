// Holders: per model the balance, share of supply, claimable revenue, lifetime earnings and the
// audit trail (each deposit with the holder's balance and the supply at that moment); claim one
// model or all of them in one transaction.
import { useState } from "preact/hooks";
import { type Address, getAddress, isAddress } from "viem";
import { claimAll } from "../../../sdk/actions/holders/claimAll.ts";
import { claimRevenue } from "../../../sdk/actions/holders/claimRevenue.ts";
import { REVENUE_MAGNITUDE } from "../../../sdk/holders/revenueReplay.ts";
import { Addr, Eth, ErrorNotice, Hash, Loading, Notice, Stat, Tokens, TxStatus } from "../components/ui.tsx";
import { useApp } from "../context.ts";
import { type Holding, loadHoldings } from "../data/holdings.ts";
import { formatEth, formatShare } from "../format.ts";
import { useLoader, useTx } from "../hooks.ts";
import { onRightChain, signerOf } from "../wallet.ts";
import { NoWallet } from "./WalletControl.tsx";

export function HoldingsView() {
  const { config, client, version, wallet, refresh } = useApp();
  const [lookup, setLookup] = useState("");
  const w = wallet.wallet;
  const viewed: Address | undefined = w.kind !== "none" ? w.address : isAddress(lookup) ? getAddress(lookup) : undefined;
  const loaded = useLoader(async () => (viewed ? loadHoldings(client, config.deployments, viewed) : undefined), [viewed, version]);
  const tx = useTx();
  const canSign = w.kind !== "none" && onRightChain(w, config) && viewed === w.address;

  const claimOne = async (h: Holding) => {
    const result = await tx.send(
      `Claim ${formatEth(h.claimableWei)} from ${h.symbol}`,
      async () => claimRevenue(await signerOf(w, config), { deployments: config.deployments, modelId: h.modelId }),
      (r) => `Claimed ${formatEth(r.amountWei)} from ${h.symbol}`,
    );
    if (result) refresh();
  };
  const claimEverything = async () => {
    const result = await tx.send(
      "Claim all",
      async () => claimAll(await signerOf(w, config), { deployments: config.deployments }),
      (r) => `Claimed ${formatEth(r.totalWei)} from ${r.tokens.length} model${r.tokens.length === 1 ? "" : "s"} in one transaction`,
    );
    if (result) refresh();
  };

  if (!viewed)
    return (
      <section>
        <h2>Your holdings</h2>
        <NoWallet what="see what you hold and claim it" />
        <label class="field">
          Or look at any address (read-only)
          <input placeholder="0x…" value={lookup} onInput={(e) => setLookup(e.currentTarget.value.trim())} data-testid="lookup" />
        </label>
      </section>
    );

  const data = loaded.data;
  const claimable = data?.holdings.filter((h) => h.claimableWei > 0n) ?? [];
  return (
    <section>
      <h2>
        Holdings of <Addr address={viewed} label={w.kind === "dev" ? w.label : undefined} />
      </h2>
      {loaded.error ? <ErrorNotice error={loaded.error} what="Could not read the holdings" /> : null}
      {!data && loaded.loading ? <Loading what="holdings" /> : null}
      {data && data.modelCount === 0 ? (
        <Notice title="No models yet" testId="no-models">
          No model is registered on this chain, so there is nothing to hold. Models appear here once a designer registers one (the devnet
          does).
        </Notice>
      ) : null}
      {data && data.modelCount > 0 && data.holdings.length === 0 ? (
        <Notice title="Nothing held" testId="no-holdings">
          This account holds no model tokens and never earned revenue. Tokens are minted to miners, validators and designers for verified
          training rounds.
        </Notice>
      ) : null}
      {data && data.holdings.length > 0 ? (
        <div class="summary">
          <Stat label="Claimable in total">
            <Eth wei={data.totalClaimableWei} testId="total-claimable" />
          </Stat>
          <button
            class="primary"
            disabled={!canSign || tx.busy || claimable.length === 0}
            onClick={claimEverything}
            data-testid="claim-all"
          >
            Claim all{claimable.length > 1 ? ` (${claimable.length} models, one transaction)` : ""}
          </button>
          {!canSign && w.kind !== "none" ? <span class="muted">Switch your wallet to chain {config.chainId} to claim.</span> : null}
        </div>
      ) : null}
      <TxStatus state={tx.state} />
      {data?.holdings.map((h) => (
        <HoldingCard key={h.modelId.toString()} h={h} canClaim={canSign && !tx.busy} onClaim={() => claimOne(h)} />
      ))}
    </section>
  );
}

function HoldingCard({ h, canClaim, onClaim }: { h: Holding; canClaim: boolean; onClaim: () => void }) {
  const id = h.modelId.toString();
  return (
    <article class="card" data-testid={`holding-${id}`}>
      <header class="card-head">
        <h3>
          {h.name}{" "}
          <span class="muted">
            ({h.symbol}) · model #{id}
          </span>
        </h3>
        <button class="primary" disabled={!canClaim || h.claimableWei === 0n} onClick={onClaim} data-testid={`claim-${id}`}>
          Claim {formatEth(h.claimableWei)}
        </button>
      </header>
      <div class="stats">
        <Stat label="Balance">
          <Tokens amount={h.balanceTokens} symbol={h.symbol} decimals={h.decimals} testId={`balance-${id}`} />
        </Stat>
        <Stat label="Share of supply" testId={`share-${id}`}>
          {formatShare(h.balanceTokens, h.supplyTokens)}
        </Stat>
        <Stat label="Claimable now">
          <Eth wei={h.claimableWei} testId={`claimable-${id}`} />
        </Stat>
        <Stat label="Earned, lifetime">
          <Eth wei={h.earnedWei} testId={`earned-${id}`} />
        </Stat>
        <Stat label="Claimed so far">
          <Eth wei={h.claimedWei} testId={`claimed-${id}`} />
        </Stat>
      </div>
      <Audit h={h} />
    </article>
  );
}

/** The audit trail: every step in which revenue reached the holders, with this holder's part. */
function Audit({ h }: { h: Holding }) {
  const id = h.modelId.toString();
  const matches = h.auditClaimableWei === h.claimableWei;
  return (
    <details class="audit" data-testid={`audit-${id}`}>
      <summary>
        Where each wei came from: {h.entries.length} revenue step{h.entries.length === 1 ? "" : "s"}
        {matches ? <span class="ok-mark"> · audit matches the token's claimable()</span> : null}
      </summary>
      {h.entries.length === 0 ? (
        <p class="muted">No revenue reached this model's holders yet: it arrives with every paid inference.</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Block</th>
              <th>Transaction</th>
              <th class="right">Deposited</th>
              <th class="right">Your balance</th>
              <th class="right">Supply</th>
              <th class="right">Your share</th>
              <th class="right">You earned</th>
            </tr>
          </thead>
          <tbody>
            {h.entries.map((e) => (
              <tr key={`${e.transactionHash}-${e.kind}`} data-testid="audit-row">
                <td>{e.blockNumber.toString()}</td>
                <td>
                  <Hash hash={e.transactionHash} /> {e.kind === "release" ? <span class="pill">held revenue released</span> : null}
                </td>
                <td class="right">
                  <Eth wei={e.depositedWei} />
                </td>
                <td class="right">
                  <Tokens amount={e.holderBalanceTokens} symbol={h.symbol} decimals={h.decimals} />
                </td>
                <td class="right">
                  <Tokens amount={e.supplyTokens} symbol={h.symbol} decimals={h.decimals} />
                </td>
                <td class="right">{formatShare(e.holderBalanceTokens, e.supplyTokens)}</td>
                <td class="right">
                  <Eth wei={e.holderEarnedMagnified / REVENUE_MAGNITUDE} digits={9} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="muted">
        Earned {formatEth(h.earnedWei, 9)} − claimed {formatEth(h.claimedWei, 9)} = {formatEth(h.auditClaimableWei, 9)} claimable by the
        replay
        {matches
          ? ", the same as the token's claimable()."
          : `; the token says ${formatEth(h.claimableWei, 9)} (a newer block: refreshing).`}{" "}
        Shares are computed with the contract's fixed-point arithmetic; a remainder below one wei is carried to later deposits.
      </p>
    </details>
  );
}
