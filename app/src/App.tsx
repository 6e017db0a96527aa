// The page: header (network, chain pulse, wallet), three views (holdings, network, try the
// model) and the states that block everything else (RPC down, RPC on another chain).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Address } from "viem";
import { getChainId } from "viem/actions";
import { type ChainHealth, DEV_CHAIN_ID, readClientOf, watchChain } from "./chain.ts";
import { ErrorNotice, Notice } from "./components/ui.tsx";
import type { AppConfig } from "./config.ts";
import { AppContext, type AppContextValue } from "./context.ts";
import { loadModels } from "./data/network.ts";
import { describeError } from "./errors.ts";
import { useLoader } from "./hooks.ts";
import { useWallet } from "./wallet.ts";
import { HoldingsView } from "./views/Holdings.tsx";
import { NetworkView } from "./views/Network.tsx";
import { TryModelView } from "./views/TryModel.tsx";
import { WalletBanner, WalletControl } from "./views/WalletControl.tsx";

const VIEWS = { holdings: "Holdings", network: "Network", try: "Try the model" } as const;
type View = keyof typeof VIEWS;

function viewOfHash(): View {
  const h = window.location.hash.replace(/^#\/?/, "");
  return h in VIEWS ? (h as View) : "holdings";
}

export function App({ config }: { config: AppConfig }) {
  const client = useMemo(() => readClientOf(config), [config]);
  const [health, setHealth] = useState<ChainHealth | undefined>(undefined);
  const [everUp, setEverUp] = useState(false);
  const [version, setVersion] = useState(0);
  const [rpcChainId, setRpcChainId] = useState<number | undefined>(undefined);
  const [view, setView] = useState<View>(viewOfHash);
  const tokens = useRef<Address[]>([]);
  const wallet = useWallet(config);

  useEffect(() => {
    const onHash = () => setView(viewOfHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  // New blocks with protocol events (any model token included) make the views reload.
  useEffect(
    () =>
      watchChain(
        client,
        () => [...Object.values(config.deployments.contracts), ...tokens.current],
        () => setVersion((v) => v + 1),
        (h) => {
          setHealth(h);
          if (h.ok) setEverUp(true);
        },
      ),
    [client],
  );
  const up = health?.ok === true;
  useEffect(() => {
    if (up && rpcChainId === undefined) getChainId(client).then(setRpcChainId, () => undefined);
  }, [up]);
  const models = useLoader(() => loadModels(client, config.deployments), [version, up]);
  useEffect(() => {
    if (models.data) tokens.current = models.data.map((m) => m.token);
  }, [models.data]);

  const context: AppContextValue = {
    config,
    client,
    health,
    version,
    refresh: () => setVersion((v) => v + 1),
    wallet,
  };
  const wrongRpcChain = rpcChainId !== undefined && rpcChainId !== config.chainId;
  return (
    <AppContext.Provider value={context}>
      <header class="top">
        <div class="brand">
          <span class="logo" aria-hidden="true">
            ◆
          </span>{" "}
          Shardholder
        </div>
        <nav class="tabs">
          {(Object.keys(VIEWS) as View[]).map((v) => (
            <a key={v} href={`#${v}`} class={v === view ? "active" : ""} data-testid={`tab-${v}`}>
              {VIEWS[v]}
            </a>
          ))}
        </nav>
        <div class="top-right">
          <ChainPill health={health} />
          <WalletControl />
        </div>
      </header>
      <main>
        {health && !health.ok ? (
          <Notice tone="error" title={everUp ? "The chain stopped answering" : "Cannot reach the chain"} testId="rpc-down">
            <p>{describeError(health.error).detail ?? describeError(health.error).title}</p>
            <p class="muted">
              Endpoint <code>{config.upstreamRpc}</code>, through this app's <code>/rpc</code>. Retrying every second
              {everUp ? "; the numbers below are from the last block read." : "."}
            </p>
          </Notice>
        ) : null}
        {wrongRpcChain ? (
          <Notice
            tone="error"
            title={`The RPC serves chain ${rpcChainId}, but the address book is for chain ${config.chainId}`}
            testId="rpc-wrong-chain"
          >
            Start the app with the address book of chain {rpcChainId}, or point it at the chain the address book was deployed on.
          </Notice>
        ) : null}
        <WalletBanner />
        {!everUp && !health?.ok ? null : wrongRpcChain ? null : view === "holdings" ? (
          <HoldingsView />
        ) : view === "network" ? (
          <NetworkView models={models} />
        ) : (
          <TryModelView models={models} />
        )}
        {!everUp && health === undefined ? <p class="loading">Connecting to the chain…</p> : null}
        {models.error && up && view !== "network" ? <ErrorNotice error={models.error} what="Could not list the models" /> : null}
      </main>
      <footer class="foot">
        chain {config.chainId}
        {config.chainId === DEV_CHAIN_ID ? " (development)" : ""} · RPC <code>{config.upstreamRpc}</code> · registry{" "}
        <code>{config.deployments.contracts.modelRegistry}</code>
      </footer>
    </AppContext.Provider>
  );
}

function ChainPill({ health }: { health: ChainHealth | undefined }) {
  if (!health) return <span class="chain-pill">connecting…</span>;
  if (!health.ok)
    return (
      <span class="chain-pill down" title={describeError(health.error).title}>
        RPC down
      </span>
    );
  return (
    <span class="chain-pill up" data-testid="block" data-block={health.block.toString()}>
      block {health.block.toString()}
    </span>
  );
}
