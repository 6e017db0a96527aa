// What every view needs: the configuration, the read client, the chain's pulse (head block,
// health, a counter bumped by the protocol's events) and the wallet.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { ChainHealth, ReadClient } from "./chain.ts";
import type { AppConfig } from "./config.ts";
import type { WalletControls } from "./wallet.ts";

export type AppContextValue = {
  config: AppConfig;
  client: ReadClient;
  health: ChainHealth | undefined;
  /** Bumped when the chain emits protocol events (or the page sent a transaction): views reload. */
  version: number;
  refresh: () => void;
  wallet: WalletControls;
};

export const AppContext = createContext<AppContextValue | undefined>(undefined);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error("useApp outside <AppContext.Provider>");
  return value;
}
