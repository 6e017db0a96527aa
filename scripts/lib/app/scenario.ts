// A small real network for the web app's end-to-end test and its screenshots: an in-process
// Hardhat chain with the protocol deployed, one model trained for two finalized rounds (minted
// rewards), a serving pipeline whose operator runs in-process with a stub text generator (which
// streams its text a word at a time, like a real pipeline a token at a time) and announces its
// content store on-chain, two paid inferences (revenue for the holders), a loss report beside it
// (made-up numbers: no training runs here) and the app's server in front of it.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, type Hex, parseEther, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type RunningApp, startApp } from "../../../app/server/startApp.ts";
import { devKey } from "../devnet/accounts.ts";
import { type RpcServer, serveRpc } from "../rpcServer.ts";
import { runServingOperator } from "../../../worker/serve/operator.ts";
import { ContentStore, serveContentStore } from "../../../worker/serve/store.ts";
import { accountAt, actionsOf, deployShardholder, mintRound, type Shardholder, signedServing, testSpec } from "../localProtocol.ts";

/** Who is who among the dev accounts (labels shown in the page's picker). */
export const ROLES = { designer: 0, minerStage0: 1, minerStage1: 2, holderStage0: 3, holderStage1: 4, dapp: 5 } as const;

const CONTINUATIONS: Record<string, string> = {
  "The jury said": " that the evidence was not enough to convict him.",
  "It was the": " first time the city had seen such a crowd.",
  "In the morning the": " sun came up over the quiet river.",
};

/**
 * The stub model of the scenario's serving operator: a canned continuation of the scenario's
 * prompts, and of any other prompt a fixed one. The text is verified like any other (its hash is
 * fulfilled on-chain); no model runs.
 */
export function stubGenerate(prompt: string): string {
  return CONTINUATIONS[prompt] ?? ` (stub text for a prompt of ${new TextEncoder().encode(prompt).length} bytes)`;
}

/** The pieces the stub streams: a word at a time, each with the space before it. */
export function stubPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [text];
}

/** Pause between two streamed pieces: long enough for a browser to render each on its own. */
const PIECE_MS = 80;

/**
 * Holds the stub's next generation until `release()`: a test can wait until the page follows the
 * output stream (`followed`) before the first piece exists, so every piece reaches it live.
 */
export type GenerationGate = { followed: Promise<void>; release(): void };

/** A content store that says when someone starts following an output stream. */
class FollowedStore extends ContentStore {
  onFollow: (() => void) | undefined;
  override follow(requestId: bigint, listener: Parameters<ContentStore["follow"]>[1]): () => void {
    const unsubscribe = super.follow(requestId, listener);
    this.onFollow?.();
    return unsubscribe;
  }
}

/** The stub generator streaming through `onText`, and the gate a test may put before its next run. */
function streamingStub(store: FollowedStore): {
  generate: (prompt: string, onText?: (text: string) => void) => Promise<string>;
  holdNext: () => GenerationGate;
} {
  let held: Promise<void> | undefined;
  const holdNext = (): GenerationGate => {
    let release = () => {};
    held = new Promise<void>((resolve) => (release = resolve));
    const followed = new Promise<void>((resolve) => (store.onFollow = resolve));
    return { followed, release };
  };
  const generate = async (prompt: string, onText?: (text: string) => void) => {
    const gate = held;
    held = undefined;
    await gate;
    const text = stubGenerate(prompt);
    for (const piece of stubPieces(text)) {
      onText?.(piece);
      await new Promise((resolve) => setTimeout(resolve, PIECE_MS));
    }
    return text;
  };
  return { generate, holdNext };
}

export type AppScenario = {
  s: Shardholder;
  modelId: bigint;
  token: Address;
  /** Rounds finalized on-chain (each has a reported loss). */
  finalRounds: bigint[];
  rpc: RpcServer;
  app: RunningApp;
  /** Holds the operator's next generation until released (see {@link GenerationGate}). */
  holdNextGeneration(): GenerationGate;
  close(): Promise<void>;
};

function devKeyList(s: Shardholder): { key: Hex; label: string }[] {
  const labels: Record<number, string> = {
    [ROLES.designer]: "designer",
    [ROLES.minerStage0]: "miner, stage 0 (serving operator)",
    [ROLES.minerStage1]: "miner, stage 1",
    [ROLES.holderStage0]: "payout of stage 0",
    [ROLES.holderStage1]: "payout of stage 1",
    [ROLES.dapp]: "dapp user",
  };
  return Array.from({ length: 10 }, (_, i) => {
    const key = devKey(i);
    // The page signs with these keys: they must be the chain's funded accounts the scenario used.
    if (privateKeyToAccount(key).address !== accountAt(s, i)) throw new Error(`dev key ${i} is not the chain's account ${i}`);
    return { key, label: labels[i] ?? `dev account ${i}` };
  });
}

/** Starts the whole scenario; `close()` stops the operator, the servers and the chain. */
export async function startAppScenario({ port = 0 }: { port?: number } = {}): Promise<AppScenario> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const s = await deployShardholder();
    cleanups.push(() => s.connection.close());
    const designer = actionsOf(s, ROLES.designer);
    const { modelId, token } = await designer.registerModel({ spec: testSpec() });
    const workers: [number, number] = [ROLES.minerStage0, ROLES.minerStage1];
    const payouts: [Address, Address] = [accountAt(s, ROLES.holderStage0), accountAt(s, ROLES.holderStage1)];
    await mintRound(s, { modelId, workers, payouts });
    await mintRound(s, { modelId, workers, payouts });
    const finalRounds = (await designer.getRoundFinalizations({ modelId })).map((f) => f.round);

    // The serving pipeline: both miners consent, stage 0 runs the operator loop and announces its store.
    const stageOperators = [accountAt(s, ROLES.minerStage0), accountAt(s, ROLES.minerStage1)] as const;
    const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 3_600n;
    const { signature } = await actionsOf(s, ROLES.minerStage1).consentToPipeline({ modelId, stageOperators, deadline: consentDeadline });
    await actionsOf(s, ROLES.minerStage0).registerPipeline({
      modelId,
      stageOperators,
      consentDeadline,
      consents: { [stageOperators[1]]: signature },
    });
    const store = new FollowedStore();
    const stub = streamingStub(store);
    const storeServer = await serveContentStore(store);
    cleanups.push(() => storeServer.close());
    const stop = new AbortController();
    const loop = runServingOperator({
      client: s.publicClient,
      wallet: s.wallets[ROLES.minerStage0] as WalletClient,
      deployments: s.deployments,
      modelId,
      store,
      stageOperators,
      // The stub's text, with placeholder commitments every stage operator signed (no pipeline runs here).
      generate: async (request, onText) => ({
        text: await stub.generate(request.prompt, onText),
        ...(await signedServing(s, { requestId: request.requestId, stageOperators })),
      }),
      pollMs: 100,
      signal: stop.signal,
    });
    cleanups.push(async () => {
      stop.abort();
      await loop;
    });
    await actionsOf(s, ROLES.minerStage0).announceEndpoint({ modelId, url: storeServer.url });

    // Two paid inferences: the holders' revenue the page audits.
    const dapp = actionsOf(s, ROLES.dapp);
    for (const [prompt, fee] of [
      ["The jury said", "0.01"],
      ["It was the", "0.02"],
    ] as const)
      await dapp.infer({ modelId, prompt, feeWei: parseEther(fee), maxFeeWei: parseEther(fee), pollingInterval: 50 });

    // The miners' loss report, in the shape of a devnet's runs/<time>/summary.json.
    const runsDir = await mkdtemp(path.join(tmpdir(), "shardholder-app-runs-"));
    cleanups.push(() => rm(runsDir, { recursive: true, force: true }));
    await mkdir(path.join(runsDir, "scenario"));
    // The newest final round was held out of the evaluation: the held-out chart shows only what was measured.
    const rounds = finalRounds.map((round, i) => ({
      round: round.toString(),
      loss: Number((3.4 - 0.55 * i).toFixed(3)),
      ...(i === 0 ? { evalLoss: 3.1 } : {}),
    }));
    const report = {
      note: "scripts/lib/app/scenario.ts: made-up losses, no training runs in this scenario",
      chainId: s.deployments.chainId,
      modelId: modelId.toString(),
      token,
      rounds,
    };
    await writeFile(path.join(runsDir, "scenario", "summary.json"), `${JSON.stringify(report, null, 2)}\n`);

    const rpc = await serveRpc(s.connection.provider);
    cleanups.push(() => rpc.close());
    const app = await startApp({ rpcUrl: rpc.url, deployments: s.deployments, port, runsDir, devKeys: devKeyList(s) });
    cleanups.push(() => app.close());
    return { s, modelId, token, finalRounds, rpc, app, holdNextGeneration: stub.holdNext, close };
  } catch (err) {
    await close();
    throw err;
  }
}
