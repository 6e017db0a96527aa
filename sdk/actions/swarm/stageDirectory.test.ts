import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { bytesToHex, type Hex, parseEther } from "viem";
import { getTransactionCount, readContract } from "viem/actions";
import { describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../../test/sdk/fixture.ts";
import * as directoryAbi from "../../abi/items/stageDirectory.ts";
import { StageDirectoryNotMemberError, StageDirectoryStillMemberError } from "../../errors/contractErrors.ts";
import { InvalidParameterError } from "../../errors/sdk.ts";

/** A fresh chain with one two-stage model whose miners need 2 ETH and validators 1 ETH. */
async function setup(): Promise<{ s: Shardholder; modelId: bigint }> {
  const s = await deployShardholder();
  const { modelId } = await actionsOf(s, 0).registerModel({
    spec: testSpec({ minWorkerStakeWei: parseEther("2"), minValidatorStakeWei: parseEther("1") }),
  });
  return { s, modelId };
}

async function stakeAs(s: Shardholder, i: number, eth: string): Promise<void> {
  await actionsOf(s, i).stake({ payout: accountAt(s, i), signingKey: accountAt(s, i), valueWei: parseEther(eth) });
}

/** A real libp2p Ed25519 peer id: its multihash bytes (38) and its text form (base58btc). */
async function newPeer(): Promise<{ bytes: Uint8Array; hex: Hex; text: string }> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
  const bytes = peerId.toMultihash().bytes;
  return { bytes, hex: bytesToHex(bytes), text: peerId.toString() };
}

describe("StageDirectory actions on a real chain", () => {
  it("a staked miner announces (its own /p2p suffix stripped), is listed with role miner, and withdraws", async () => {
    const { s, modelId } = await setup();
    await stakeAs(s, 1, "2");
    const peer = await newPeer();
    const miner = actionsOf(s, 1);
    const sent = await miner.announcePeer({
      modelId,
      stage: 0,
      peerId: peer.bytes,
      multiaddrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${peer.text}`, "/dns4/miner.example/tcp/4001"],
    });
    expect(sent.receipt.status).toBe("success");

    const record = await actionsOf(s, 5).getPeerRecord({ modelId, account: accountAt(s, 1) });
    expect(record).toMatchObject({ stage: 0, peerId: peer.hex, multiaddrs: ["/ip4/10.0.0.1/tcp/4001", "/dns4/miner.example/tcp/4001"] });
    expect(record?.announcedAt).toBe(BigInt(await s.networkHelpers.time.latest()));

    const members = await actionsOf(s, 5).getStageMembers({ modelId, stage: 0 });
    expect(members).toEqual([
      {
        account: accountAt(s, 1),
        role: "miner",
        peerId: peer.hex,
        multiaddrs: ["/ip4/10.0.0.1/tcp/4001", "/dns4/miner.example/tcp/4001"],
        announcedAt: record?.announcedAt,
      },
    ]);
    expect(await actionsOf(s, 5).getStageMembers({ modelId, stage: 1 })).toEqual([]);

    // the bounds themselves are accepted: a 64-byte peer id, 8 multiaddrs of 256 bytes
    const longest = `/dns4/${"a".repeat(256 - "/dns4//tcp/1".length)}/tcp/1`;
    expect(new TextEncoder().encode(longest).length).toBe(256);
    await miner.announcePeer({ modelId, stage: 1, peerId: `0x${"ab".repeat(64)}`, multiaddrs: Array(8).fill(longest) });
    expect((await miner.getStageMembers({ modelId, stage: 1 })).map((m) => [m.account, m.multiaddrs.length])).toEqual([
      [accountAt(s, 1), 8],
    ]);
    expect(await miner.getStageMembers({ modelId, stage: 0 })).toEqual([]);

    await miner.withdrawPeer({ modelId });
    expect(await miner.getPeerRecord({ modelId, account: accountAt(s, 1) })).toBeUndefined();
    expect(await miner.getStageMembers({ modelId, stage: 1 })).toEqual([]);
  });

  it("a validator of stage 1 (stake under the miners' minimum) is listed on stage 1 as validator, and refused on stage 0", async () => {
    const { s, modelId } = await setup();
    await stakeAs(s, 2, "1");
    const validator = actionsOf(s, 2);
    await validator.setValidator({ modelId, stage: 1, validator: true });
    const peer = await newPeer();
    await validator.announcePeer({ modelId, stage: 1, peerId: peer.hex, multiaddrs: ["/ip4/10.0.0.2/tcp/4001"] });

    const members = await actionsOf(s, 5).getStageMembers({ modelId, stage: 1 });
    expect(members.map((m) => [m.account, m.role, m.peerId, m.multiaddrs])).toEqual([
      [accountAt(s, 2), "validator", peer.hex, ["/ip4/10.0.0.2/tcp/4001"]],
    ]);

    const refused = validator.announcePeer({ modelId, stage: 0, peerId: peer.hex, multiaddrs: ["/ip4/10.0.0.2/tcp/4001"] });
    await expect(refused).rejects.toBeInstanceOf(StageDirectoryNotMemberError);
    await expect(refused).rejects.toMatchObject({ args: [modelId, 0, accountAt(s, 2)] });
    expect(await actionsOf(s, 5).getStageMembers({ modelId, stage: 0 })).toEqual([]);
    expect((await validator.getPeerRecord({ modelId, account: accountAt(s, 2) }))?.stage).toBe(1);
  });

  it("a member that requests unbond leaves getStageMembers at once and can then be pruned by anyone", async () => {
    const { s, modelId } = await setup();
    await stakeAs(s, 3, "2");
    const member = actionsOf(s, 3);
    const peer = await newPeer();
    await member.announcePeer({ modelId, stage: 1, peerId: peer.bytes, multiaddrs: ["/ip4/10.0.0.3/tcp/4001"] });
    const anyone = actionsOf(s, 6);
    await expect(anyone.prunePeer({ modelId, member: accountAt(s, 3) })).rejects.toBeInstanceOf(StageDirectoryStillMemberError);
    expect((await anyone.getStageMembers({ modelId, stage: 1 })).map((m) => m.account)).toEqual([accountAt(s, 3)]);

    await member.requestUnbond();
    expect(await anyone.getStageMembers({ modelId, stage: 1 })).toEqual([]);
    // the record itself is still there until someone prunes it
    expect((await anyone.getPeerRecord({ modelId, account: accountAt(s, 3) }))?.peerId).toBe(peer.hex);

    await anyone.prunePeer({ modelId, member: accountAt(s, 3) });
    expect(await anyone.getPeerRecord({ modelId, account: accountAt(s, 3) })).toBeUndefined();
    const count = await readContract(s.publicClient, {
      abi: [directoryAbi.memberCount],
      address: s.deployments.contracts.stageDirectory,
      functionName: "memberCount",
      args: [modelId, 1],
    });
    expect(count).toBe(0n);
  });

  it("refuses malformed peer records before sending anything", async () => {
    const { s, modelId } = await setup();
    await stakeAs(s, 4, "2");
    const miner = actionsOf(s, 4);
    const peer = await newPeer();
    const other = await newPeer();
    const ok = { modelId, stage: 0, peerId: peer.hex, multiaddrs: ["/ip4/10.0.0.4/tcp/4001"] };
    const nonceBefore = await getTransactionCount(s.publicClient, { address: accountAt(s, 4) });
    const blockBefore = await s.publicClient.getBlockNumber();
    const bad: Array<[string, Partial<Omit<typeof ok, "peerId">> & { peerId?: Hex | Uint8Array }]> = [
      ["empty peer id", { peerId: "0x" }],
      ["empty peer id bytes", { peerId: new Uint8Array() }],
      ["65-byte peer id", { peerId: `0x${"ab".repeat(65)}` }],
      ["peer id not hex", { peerId: "12D3KooW" as Hex }],
      ["odd-length hex", { peerId: "0xabc" }],
      ["no multiaddr", { multiaddrs: [] }],
      ["nine multiaddrs", { multiaddrs: Array(9).fill("/ip4/10.0.0.4/tcp/4001") }],
      ["multiaddr without leading /", { multiaddrs: ["ip4/10.0.0.4/tcp/4001"] }],
      ["empty multiaddr", { multiaddrs: [""] }],
      ["257-byte multiaddr", { multiaddrs: [`/dns4/${"a".repeat(257 - "/dns4//tcp/1".length)}/tcp/1`] }],
      ["another peer's /p2p suffix", { multiaddrs: [`/ip4/10.0.0.4/tcp/4001/p2p/${other.text}`] }],
      ["nothing left but /p2p/<own id>", { multiaddrs: [`/p2p/${peer.text}`] }],
      ["negative stage", { stage: -1 }],
      ["fractional stage", { stage: 0.5 }],
      ["stage past uint16", { stage: 65536 }],
    ];
    for (const [label, change] of bad) {
      await expect(miner.announcePeer({ ...ok, ...change }), label).rejects.toBeInstanceOf(InvalidParameterError);
    }
    await expect(miner.getStageMembers({ modelId, stage: 0, pageSize: 0 })).rejects.toBeInstanceOf(InvalidParameterError);
    expect(await getTransactionCount(s.publicClient, { address: accountAt(s, 4) })).toBe(nonceBefore);
    expect(await s.publicClient.getBlockNumber()).toBe(blockBefore);
    // the same record, well formed, goes through
    await miner.announcePeer(ok);
    expect((await miner.getStageMembers({ modelId, stage: 0 })).map((m) => m.account)).toEqual([accountAt(s, 4)]);
  });

  it("reads every page: three members with pageSize 2, an unbonded record left out", async () => {
    const { s, modelId } = await setup();
    const accounts = [7, 8, 9, 10];
    for (const i of accounts) {
      await stakeAs(s, i, "2");
      const peer = await newPeer();
      await actionsOf(s, i).announcePeer({ modelId, stage: 1, peerId: peer.bytes, multiaddrs: [`/ip4/10.0.1.${i}/tcp/4001`] });
    }
    await actionsOf(s, 8).requestUnbond();
    const reader = actionsOf(s, 5);
    const paged = await reader.getStageMembers({ modelId, stage: 1, pageSize: 2 });
    const expected = [7, 9, 10].map((i) => accountAt(s, i));
    expect(paged.map((m) => m.account).sort()).toEqual([...expected].sort());
    expect(paged.every((m) => m.role === "miner")).toBe(true);
    expect(paged.map((m) => m.multiaddrs[0]).sort()).toEqual([
      "/ip4/10.0.1.10/tcp/4001",
      "/ip4/10.0.1.7/tcp/4001",
      "/ip4/10.0.1.9/tcp/4001",
    ]);
    expect(await reader.getStageMembers({ modelId, stage: 1, pageSize: 1 })).toEqual(paged);
    expect(await reader.getStageMembers({ modelId, stage: 1 })).toEqual(paged);
  });
});
