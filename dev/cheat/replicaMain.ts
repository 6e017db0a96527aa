/**
 * A fabricating replica (see ./replica.ts) in its own OS process, for the devnet's cheater.
 *
 *   SHARDHOLDER_KEY=0x.. SHARDHOLDER_SIGNING_KEY=0x.. node --import tsx dev/cheat/replicaMain.ts \
 *     --rpc <url> --deployments <file> --model <id> --stage <s> --honest-worker <0x..> --honest-peer <multiaddr> \
 *     [--from-round R] [--rounds N]
 *
 * stdout: pino-shaped JSON lines: `listening {addrs}`, `round committed {round, stage, items}`,
 * `jailed {round}` (a submission refused because the stake was slashed), `done`; on failure a
 * level-50 line and exit code 1. The account must already be staked with this signing key.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createPublicClient, createWalletClient, getAddress, type Hex, http, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import { ContentStore } from "../../worker/p2p/content.ts";
import { serveContent } from "../../worker/p2p/contentProtocol.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { createPipeNode } from "../../worker/p2p/node.ts";
import { helloDomainOf } from "../../worker/p2p/stakedNeighbour.ts";
import { announceStageMember, contentHello } from "../../worker/p2p/stageMembers.ts";
import { commitFabricatedRound } from "./replica.ts";

const emit = (msg: string, body: Record<string, unknown> = {}, level = 30): void => {
  process.stdout.write(
    `${JSON.stringify({ level, time: Date.now(), pid: process.pid, msg, ...body }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`,
  );
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      deployments: { type: "string" },
      model: { type: "string" },
      stage: { type: "string" },
      "honest-worker": { type: "string" },
      "honest-peer": { type: "string" },
      "from-round": { type: "string" },
      rounds: { type: "string", default: "1" },
    },
  });
  const need = (name: keyof typeof values): string => {
    const v = values[name];
    if (typeof v !== "string" || !v) throw new Error(`--${name} is required`);
    return v;
  };
  const key = process.env.SHARDHOLDER_KEY as Hex | undefined;
  const signingKey = process.env.SHARDHOLDER_SIGNING_KEY as Hex | undefined;
  if (!key || !signingKey) throw new Error("SHARDHOLDER_KEY and SHARDHOLDER_SIGNING_KEY are required");
  const transport = http(need("rpc"));
  const deploymentsFile = need("deployments");
  const deployments = parseDeployments(JSON.parse(readFileSync(deploymentsFile, "utf8")), deploymentsFile);
  const publicClient = createPublicClient({ transport }) as PublicClient;
  const account = privateKeyToAccount(key);
  const wallet = createWalletClient({ account, transport });
  const modelId = BigInt(need("model"));
  const node = await createPipeNode();
  const store = new ContentStore();
  await serveContent(node, store);
  emit("listening", { worker: account.address, addrs: node.getMultiaddrs().map(String) });
  const stop = new AbortController();
  process.once("SIGTERM", () => stop.abort());
  process.once("SIGINT", () => stop.abort());
  try {
    const first = values["from-round"] ? BigInt(values["from-round"]) : await getCurrentRound(publicClient, { deployments, modelId });
    const stage = Number(need("stage"));
    const signer = privateKeyToAccount(signingKey);
    // A replica is a staked member of its stage like any other: listed in the stage directory, it
    // may fetch the stage's weights from its honest peer (what it does with them is the fraud).
    await announceStageMember({ wallet, client: publicClient, deployments, modelId, stage, node });
    const { specHash } = await getModel(publicClient, { deployments, modelId });
    const hello = await contentHello({
      signer,
      domain: helloDomainOf(deployments),
      modelId,
      specHash,
      stage,
      worker: account.address,
      node,
    });
    const params = {
      wallet,
      publicClient,
      deployments,
      modelId,
      stage,
      signer,
      node,
      store,
      hello,
      honest: { worker: getAddress(need("honest-worker")), address: need("honest-peer") },
      signal: stop.signal,
    };
    for (let i = 0n; i < BigInt(need("rounds")); i++) {
      const round = first + i;
      try {
        const m = await commitFabricatedRound(params, round);
        emit("round committed", { round, stage: params.stage, items: m.items.length, cheater: true });
      } catch (err) {
        if (!(await getStaker(publicClient, { deployments, account: account.address })).jailed) throw err;
        emit("jailed", { round });
        break;
      }
    }
    // Keep serving the committed content until stopped: committees fetch it while they vote.
    emit("done");
    if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
  } finally {
    await node.stop();
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  emit("cheater failed", { name: e.name, shortMessage: (e as { shortMessage?: string }).shortMessage ?? e.message }, 50);
  process.exit(1);
}
