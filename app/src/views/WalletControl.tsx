// The wallet corner (connect an injected wallet, or pick a dev account on chain 31337), its ETH
// balance, and the notices for "no wallet" and "wrong chain".
import { getBalance } from "viem/actions";
import { DEV_CHAIN_ID } from "../chain.ts";
import { Addr, Eth, ErrorNotice, Notice } from "../components/ui.tsx";
import { useApp } from "../context.ts";
import { useLoader } from "../hooks.ts";

export function WalletControl() {
  const { config, client, health, wallet } = useApp();
  const w = wallet.wallet;
  const block = health?.ok ? health.block : undefined;
  const balance = useLoader(
    async () => (w.kind === "none" ? undefined : getBalance(client, { address: w.address })),
    [w.kind === "none" ? undefined : w.address, block],
  );
  const devOffered = config.chainId === DEV_CHAIN_ID && config.devAccounts.length > 0;
  return (
    <div class="wallet" data-testid="wallet">
      {w.kind === "none" ? (
        <>
          <button
            onClick={wallet.connectInjected}
            disabled={!wallet.hasInjected}
            title={wallet.hasInjected ? "Connect the browser's wallet" : "No browser wallet (EIP-1193) found"}
            data-testid="connect-injected"
          >
            Connect wallet
          </button>
          {devOffered ? <DevPicker /> : null}
        </>
      ) : (
        <>
          {/* A dev account's name is in the picker beside it. */}
          <Addr address={w.address} label={w.kind === "dev" ? undefined : "wallet"} />
          {balance.data !== undefined ? <Eth wei={balance.data} testId="eth-balance" digits={4} /> : null}
          {devOffered && w.kind === "dev" ? <DevPicker compact /> : null}
          <button class="link" onClick={wallet.disconnect} data-testid="disconnect">
            Disconnect
          </button>
        </>
      )}
    </div>
  );
}

function DevPicker({ compact = false }: { compact?: boolean }) {
  const { config, wallet } = useApp();
  const w = wallet.wallet;
  return (
    <label
      class="dev-picker"
      title={`Hardhat's public development keys: offered only because this is chain ${DEV_CHAIN_ID}. Never send real funds to them.`}
    >
      {compact ? null : <span>Dev account</span>}
      <select
        value={w.kind === "dev" ? w.address : ""}
        onChange={(e) => wallet.chooseDevAccount(e.currentTarget.value)}
        data-testid="dev-account"
      >
        <option value="">choose…</option>
        {config.devAccounts.map((d) => (
          <option key={d.address} value={d.address}>
            {d.label} · {d.address.slice(0, 8)}…
          </option>
        ))}
      </select>
    </label>
  );
}

/** Shown where an action needs a wallet and none is connected. */
export function NoWallet({ what }: { what: string }) {
  const { config, wallet } = useApp();
  const devOffered = config.chainId === DEV_CHAIN_ID && config.devAccounts.length > 0;
  return (
    <Notice tone="info" title={`Connect a wallet to ${what}`} testId="no-wallet">
      {wallet.hasInjected ? (
        <p>Use “Connect wallet” at the top right: your browser wallet will ask which account to share.</p>
      ) : (
        <p>No browser wallet was found (an EIP-1193 provider such as MetaMask, injected as window.ethereum).</p>
      )}
      {devOffered ? (
        <p>
          This is a development chain ({DEV_CHAIN_ID}): you can also act as one of its <strong>dev accounts</strong>, whose keys are
          Hardhat's public test keys. The page signs with them itself; they exist only on chain {DEV_CHAIN_ID}.
        </p>
      ) : null}
    </Notice>
  );
}

/** Wallet problems that block signing: on another chain, or the last wallet request failed. */
export function WalletBanner() {
  const { config, wallet } = useApp();
  const w = wallet.wallet;
  return (
    <>
      {w.kind === "injected" && w.chainId !== config.chainId ? (
        <Notice tone="warn" title={`Your wallet is on chain ${w.chainId}; this network is chain ${config.chainId}`} testId="wrong-chain">
          <p>Reading works; signing claims and payments needs the wallet on chain {config.chainId}.</p>
          <button onClick={wallet.switchChain} data-testid="switch-chain">
            Switch wallet to chain {config.chainId}
          </button>
        </Notice>
      ) : null}
      {wallet.error ? <ErrorNotice error={wallet.error} what="Wallet" testId="wallet-error" /> : null}
    </>
  );
}
