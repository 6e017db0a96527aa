// Who signs: an injected EIP-1193 wallet (window.ethereum), or, on chain 31337 only, one of the
// development accounts whose public keys the app's server offers (signed in the page).
import { useCallback, useEffect, useState } from "preact/hooks";
import {
  type Account,
  type Address,
  type Chain,
  type Client,
  createClient,
  custom,
  getAddress,
  type Hex,
  http,
  type Transport,
} from "viem";
import { chainOf, DEV_CHAIN_ID } from "./chain.ts";
import type { AppConfig } from "./config.ts";

/** The part of EIP-1193 the page uses. */
export type InjectedProvider = {
  request(args: { method: string; params?: unknown }): Promise<unknown>;
  on?: (event: string, listener: (value: unknown) => void) => void;
  removeListener?: (event: string, listener: (value: unknown) => void) => void;
};

declare global {
  interface Window {
    ethereum?: InjectedProvider;
  }
}

export type Wallet =
  | { kind: "none" }
  | { kind: "injected"; address: Address; chainId: number; provider: InjectedProvider }
  | { kind: "dev"; address: Address; key: Hex; label: string };

export type WriteClient = Client<Transport, Chain, Account>;

/** Whether the wallet may sign for the app's chain now (an injected wallet can be on another chain). */
export function onRightChain(wallet: Wallet, config: AppConfig): boolean {
  return wallet.kind === "dev" || (wallet.kind === "injected" && wallet.chainId === config.chainId);
}

/** A client that signs as `wallet` (dev keys sign in the page; the signing code is loaded on first use). */
export async function signerOf(wallet: Wallet, config: AppConfig): Promise<WriteClient> {
  const chain = chainOf(config);
  if (wallet.kind === "dev") {
    if (config.chainId !== DEV_CHAIN_ID) throw new Error(`Dev accounts sign only on chain ${DEV_CHAIN_ID}.`);
    const { privateKeyToAccount } = await import("viem/accounts");
    return createClient({ account: privateKeyToAccount(wallet.key), chain, transport: http(config.rpcUrl), pollingInterval: 1_000 });
  }
  if (wallet.kind === "injected") {
    const account = { address: wallet.address, type: "json-rpc" } as const;
    return createClient({ account, chain, transport: custom(wallet.provider), pollingInterval: 1_000 });
  }
  throw new Error("Connect a wallet first.");
}

const toChainId = (value: unknown): number => (typeof value === "string" ? Number.parseInt(value, 16) : Number(value));

/** The page's wallet and what a person can do with it. */
export function useWallet(config: AppConfig) {
  const [wallet, setWallet] = useState<Wallet>({ kind: "none" });
  const [error, setError] = useState<unknown>(undefined);
  const injected = typeof window !== "undefined" ? window.ethereum : undefined;

  const connectInjected = useCallback(async () => {
    setError(undefined);
    if (!injected) return;
    try {
      const accounts = (await injected.request({ method: "eth_requestAccounts" })) as string[];
      const chainId = toChainId(await injected.request({ method: "eth_chainId" }));
      const first = accounts[0];
      setWallet(first ? { kind: "injected", address: getAddress(first), chainId, provider: injected } : { kind: "none" });
    } catch (err) {
      setError(err);
    }
  }, [injected]);

  const chooseDevAccount = useCallback(
    (address: string) => {
      setError(undefined);
      const dev = config.devAccounts.find((d) => d.address.toLowerCase() === address.toLowerCase());
      setWallet(
        dev && config.chainId === DEV_CHAIN_ID
          ? { kind: "dev", address: getAddress(dev.address), key: dev.key, label: dev.label }
          : { kind: "none" },
      );
    },
    [config],
  );

  const disconnect = useCallback(() => setWallet({ kind: "none" }), []);

  /** Asks the injected wallet to switch to the app's chain, adding it (with the app's RPC) if unknown. */
  const switchChain = useCallback(async () => {
    if (wallet.kind !== "injected") return;
    const chainId = `0x${config.chainId.toString(16)}`;
    setError(undefined);
    try {
      await wallet.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 4902) return setError(err);
      const chain = chainOf(config);
      await wallet.provider
        .request({
          method: "wallet_addEthereumChain",
          params: [{ chainId, chainName: chain.name, nativeCurrency: chain.nativeCurrency, rpcUrls: [config.rpcUrl] }],
        })
        .catch(setError);
    }
  }, [wallet, config]);

  // Follow the injected wallet: another account, another chain, or disconnected.
  useEffect(() => {
    if (wallet.kind !== "injected" || !wallet.provider.on) return;
    const provider = wallet.provider;
    const onAccounts = (value: unknown) => {
      const first = Array.isArray(value) ? (value[0] as string | undefined) : undefined;
      setWallet((w) => (w.kind === "injected" && first ? { ...w, address: getAddress(first) } : { kind: "none" }));
    };
    const onChain = (value: unknown) => setWallet((w) => (w.kind === "injected" ? { ...w, chainId: toChainId(value) } : w));
    provider.on?.("accountsChanged", onAccounts);
    provider.on?.("chainChanged", onChain);
    return () => {
      provider.removeListener?.("accountsChanged", onAccounts);
      provider.removeListener?.("chainChanged", onChain);
    };
  }, [wallet.kind === "injected" ? wallet.provider : undefined]);

  return { wallet, error, hasInjected: injected !== undefined, connectInjected, chooseDevAccount, disconnect, switchChain };
}

export type WalletControls = ReturnType<typeof useWallet>;
