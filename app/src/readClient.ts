// The page's read client type, on its own so that the data modules (also run by Node tests) need
// nothing of the browser-only modules that build the client.
import type { Chain, Client, Transport } from "viem";

/** A bare viem client with its chain; actions are imported one by one (chain.ts builds it). */
export type ReadClient = Client<Transport, Chain>;
