import { type Hex, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

/** The mnemonic of Hardhat's (and anvil's) funded development accounts. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of development account `index` (funded on Hardhat and anvil chains). */
export function devKey(index: number): Hex {
  const key = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no private key for dev account ${index}`);
  return toHex(key);
}

/** Who plays which part in the devnet: one index per role, never reused across roles. */
export type DevnetRoles = {
  deployer: Hex;
  miners: Hex[];
  signers: Hex[];
  clients: Hex[];
  /** The auditing validator first, then the committee (a committee needs three other validators). */
  validators: Hex[];
  /** The cheating replica's staking key and its signing key. */
  cheater: { key: Hex; signingKey: Hex };
};

/**
 * Keys of every role: 0 deploys and designs the model (and relays finalize/mint), 1..S are the
 * stage miners (worker + payout key), signing keys come from a disjoint range (never payout keys),
 * 14..17 validate, 18 is the cheating replica.
 */
export function devnetRoles(stageCount: number, clientCount = 2): DevnetRoles {
  const miners = Array.from({ length: stageCount }, (_, s) => devKey(1 + s));
  const signers = Array.from({ length: stageCount }, (_, s) => devKey(100 + s));
  const clients = Array.from({ length: clientCount }, (_, c) => devKey(1 + stageCount + c));
  // Hardhat funds accounts 0..19: validators and the cheater take the top of that range.
  const validators = [14, 15, 16, 17].map(devKey);
  return { deployer: devKey(0), miners, signers, clients, validators, cheater: { key: devKey(18), signingKey: devKey(118) } };
}
