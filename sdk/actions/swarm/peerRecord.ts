import type { Hex } from "viem";

/** A libp2p peer record as published in the StageDirectory. */
export type PeerRecord = {
  /** The stage of the model the record is listed under. */
  stage: number;
  /** Block timestamp (seconds) of the announcement. */
  announcedAt: bigint;
  /** The libp2p peer id, multihash bytes (`peerIdFromMultihash(Digest.decode(hexToBytes(peerId)))` in js-libp2p). */
  peerId: Hex;
  /** Where the peer listens, without the `/p2p/<id>` suffix. */
  multiaddrs: string[];
};

/** The SDK's form of a stored record (`undefined` for the empty one, whose `announcedAt` is 0). */
export function peerRecordOf(record: {
  stage: number;
  announcedAt: bigint;
  peerId: Hex;
  multiaddrs: readonly string[];
}): PeerRecord | undefined {
  if (record.announcedAt === 0n) return undefined;
  return { stage: record.stage, announcedAt: record.announcedAt, peerId: record.peerId, multiaddrs: [...record.multiaddrs] };
}
