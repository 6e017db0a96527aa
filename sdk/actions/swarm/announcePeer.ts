import type { Address, Hex } from "viem";
import { peerIdText } from "../../protocol/peerId.ts";
import { bytesToHex, isHex, size } from "viem";
import * as directoryAbi from "../../abi/items/stageDirectory.ts";
import type {
  ModelRegistryUnknownModelError,
  StageDirectoryBadMultiaddrsError,
  StageDirectoryBadPeerIdError,
  StageDirectoryBadStageError,
  StageDirectoryNoRecordError,
  StageDirectoryNotMemberError,
  StageDirectoryStillMemberError,
} from "../../errors/contractErrors.ts";
import { type AccountRequiredError, InvalidParameterError, type NoDeploymentError } from "../../errors/sdk.ts";
import {
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteParameters,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";

/** The StageDirectory's bounds on a peer record (`MAX_PEER_ID_BYTES`, `MAX_MULTIADDRS`, `MAX_MULTIADDR_BYTES`). */
const MAX_PEER_ID_BYTES = 64;
const MAX_MULTIADDRS = 8;
const MAX_MULTIADDR_BYTES = 256;

export type AnnouncePeerParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    modelId: bigint;
    /** The stage the sender serves (as a miner of the model) or validates (as that stage's validator). */
    stage: number;
    /** The libp2p peer id as multihash bytes (`peerId.toMultihash().bytes`, 38 for Ed25519), 1 to 64 bytes. */
    peerId: Uint8Array | Hex;
    /**
     * Where the peer listens, 1 to 8 multiaddrs in string form, each starting with `/` and at most
     * 256 bytes (UTF-8). A trailing `/p2p/<id>` naming this very peer (base58btc, as libp2p prints
     * it) is stripped, so `node.getMultiaddrs()` can be passed as it is; one naming another peer is refused.
     */
    multiaddrs: readonly string[];
  };

export type AnnouncePeerErrorType =
  | StageDirectoryBadStageError
  | StageDirectoryNotMemberError
  | StageDirectoryBadPeerIdError
  | StageDirectoryBadMultiaddrsError
  | ModelRegistryUnknownModelError
  | InvalidParameterError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Publishes the sender's libp2p peer record for one stage of a model in the StageDirectory, sent by
 * its staking key, replacing its earlier record for the model (and moving it to `stage`). Accepted
 * only while the sender is a serving miner of the model or an active validator of that very stage
 * (`StageDirectoryNotMemberError` otherwise). The peer id and multiaddrs are checked here first, so
 * malformed input throws `InvalidParameterError` before anything is simulated or sent.
 *
 * @example
 * import { announcePeer } from "@shardholder/sdk"
 * await announcePeer(minerWallet, {
 *   deployments,
 *   modelId: 1n,
 *   stage: 0,
 *   peerId: node.peerId.toMultihash().bytes,
 *   multiaddrs: node.getMultiaddrs().map(String),
 * })
 */
export async function announcePeer<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: AnnouncePeerParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { stage } = parameters;
  if (!Number.isInteger(stage) || stage < 0 || stage > 0xffff)
    throw new InvalidParameterError({ parameter: "stage", reason: `${stage} is not a stage number (0 to 65535)` });
  const peerId = peerIdHex(parameters.peerId);
  const multiaddrs = dialableMultiaddrs(parameters.multiaddrs, peerId);
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "announcePeer",
      abi: [directoryAbi.announcePeer],
      address: contracts.stageDirectory,
      functionName: "announcePeer",
      args: [parameters.modelId, stage, peerId, multiaddrs],
      account: parameters.account,
    },
    parameters,
  );
}

export type WithdrawPeerParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { modelId: bigint };

export type WithdrawPeerErrorType = StageDirectoryNoRecordError | AccountRequiredError | NoDeploymentError;

/**
 * Removes the sender's own peer record for `modelId` from the StageDirectory (e.g. before going offline).
 *
 * @example
 * import { withdrawPeer } from "@shardholder/sdk"
 * await withdrawPeer(minerWallet, { deployments, modelId: 1n })
 */
export async function withdrawPeer<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: WithdrawPeerParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "withdrawPeer",
      abi: [directoryAbi.withdrawPeer],
      address: contracts.stageDirectory,
      functionName: "withdrawPeer",
      args: [parameters.modelId],
      account: parameters.account,
    },
    parameters,
  );
}

export type PrunePeerParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    modelId: bigint;
    /**
     * The member whose record goes (the contract's `account`); it must no longer qualify for its
     * stage. Named `member` because `account`, as in every write action, overrides the sender.
     */
    member: Address;
  };

export type PrunePeerErrorType = StageDirectoryNoRecordError | StageDirectoryStillMemberError | AccountRequiredError | NoDeploymentError;

/**
 * Removes `member`'s peer record for `modelId` once the ledger no longer counts it as a member of
 * its stage (unbonding, jailed, under the model's minimum stake, or no longer that stage's
 * validator). Anyone may send it; `StageDirectoryStillMemberError` while the account still qualifies.
 *
 * @example
 * import { prunePeer } from "@shardholder/sdk"
 * await prunePeer(anyWallet, { deployments, modelId: 1n, member: "0x…" })
 */
export async function prunePeer<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: PrunePeerParameters<wait>,
): Promise<WriteReturnType<WriteResult, wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "prunePeer",
      abi: [directoryAbi.prunePeer],
      address: contracts.stageDirectory,
      functionName: "prunePeer",
      args: [parameters.modelId, parameters.member],
      account: parameters.account,
    },
    parameters,
  );
}

/** The peer id as hex, 1 to 64 bytes, or `InvalidParameterError`. */
function peerIdHex(peerId: Uint8Array | Hex): Hex {
  let hex: Hex;
  if (peerId instanceof Uint8Array) hex = bytesToHex(peerId);
  else if (typeof peerId === "string" && isHex(peerId, { strict: true }) && peerId.length % 2 === 0) hex = peerId;
  else
    throw new InvalidParameterError({
      parameter: "peerId",
      reason: "expected multihash bytes, as a Uint8Array or an even-length 0x hex string",
    });
  const bytes = size(hex);
  if (bytes === 0 || bytes > MAX_PEER_ID_BYTES)
    throw new InvalidParameterError({ parameter: "peerId", reason: `${bytes} bytes, expected 1 to ${MAX_PEER_ID_BYTES}` });
  return hex;
}

/**
 * The multiaddrs as the directory stores them: each starts with `/`, a trailing `/p2p/<peerId>` of
 * this very peer removed (refused when it names another peer), 1 to 256 bytes; 1 to 8 of them.
 */
function dialableMultiaddrs(multiaddrs: readonly string[], peerId: Hex): string[] {
  if (!Array.isArray(multiaddrs) || multiaddrs.length === 0 || multiaddrs.length > MAX_MULTIADDRS) {
    throw new InvalidParameterError({
      parameter: "multiaddrs",
      reason: `${Array.isArray(multiaddrs) ? multiaddrs.length : "no"} multiaddrs, expected 1 to ${MAX_MULTIADDRS}`,
    });
  }
  const own = peerIdText(peerId);
  const encoder = new TextEncoder();
  return multiaddrs.map((raw, i) => {
    const parameter = `multiaddrs[${i}]`;
    if (typeof raw !== "string" || !raw.startsWith("/"))
      throw new InvalidParameterError({ parameter, reason: `${JSON.stringify(raw)} is not a multiaddr (it must start with "/")` });
    let address = raw;
    const suffix = /\/p2p\/([^/]+)$/.exec(raw);
    if (suffix) {
      if (suffix[1] !== own)
        throw new InvalidParameterError({ parameter, reason: `it ends in /p2p/${suffix[1]}, another peer than peerId (${own})` });
      address = raw.slice(0, suffix.index);
    }
    const bytes = encoder.encode(address).length;
    if (bytes === 0 || bytes > MAX_MULTIADDR_BYTES) {
      throw new InvalidParameterError({
        parameter,
        reason: `${bytes} bytes without its /p2p suffix, expected 1 to ${MAX_MULTIADDR_BYTES}`,
      });
    }
    return address;
  });
}
