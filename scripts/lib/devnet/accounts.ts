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
  /**
   * Two validators per stage (validators hold one stage): `validators[s]` audits stage s and
   * `validators[stageCount + s]` sits on its committees (see {@link stageValidatorKeys}).
   */
  validators: Hex[];
  /** The cheating replica's staking key and its signing key. */
  cheater: { key: Hex; signingKey: Hex };
  /**
   * The last stage's extra honest replicas (swarm mode): the one that crashes mid-run and the one
   * that joins at a later round. Dev accounts 400 and 401 (funded by the preflight), signing keys 500 and 501.
   */
  replicas: { key: Hex; signingKey: Hex }[];
};

/**
 * The dev account of validator `i` (two per stage): Hardhat's pre-funded 14..17, 13, 12 first, then
 * 300 up (funded by the devnet's preflight). Never the cheater's (18, 19, 200..263) nor the join
 * guide's (6..8).
 */
const validatorAccount = (i: number): number => [14, 15, 16, 17, 13, 12][i] ?? 300 + i;

/**
 * Keys of every role: 0 deploys and designs the model (and relays finalize/mint), 1..S are the
 * stage miners (worker + payout key), signing keys come from a disjoint range (never payout keys),
 * then the clients; two validators per stage (14..17, 13, 12, then 300 up), 18 is the cheating
 * replica, 400 and 401 the last stage's extra honest replicas.
 */
export function devnetRoles(stageCount: number, clientCount = 2): DevnetRoles {
  const miners = Array.from({ length: stageCount }, (_, s) => devKey(1 + s));
  const signers = Array.from({ length: stageCount }, (_, s) => devKey(100 + s));
  const clients = Array.from({ length: clientCount }, (_, c) => devKey(1 + stageCount + c));
  const validatorAccounts = Array.from({ length: 2 * stageCount }, (_, i) => validatorAccount(i));
  // Miners and clients take 1 up: with many stages they would reach the validators' 12..17.
  const taken = new Set(validatorAccounts);
  if (Array.from({ length: stageCount + clientCount }, (_, i) => 1 + i).some((i) => taken.has(i)))
    throw new Error(`${stageCount} stages and ${clientCount} clients overlap the devnet's validator accounts`);
  const validators = validatorAccounts.map(devKey);
  const replicas = [400, 401].map((i) => ({ key: devKey(i), signingKey: devKey(i + 100) }));
  return { deployer: devKey(0), miners, signers, clients, validators, cheater: { key: devKey(18), signingKey: devKey(118) }, replicas };
}

/** The validators of `stage`: its auditor, then its committee member. */
export function stageValidatorKeys(roles: DevnetRoles, stage: number): Hex[] {
  const stages = roles.validators.length / 2;
  return [roles.validators[stage] as Hex, roles.validators[stages + stage] as Hex];
}
