// The web app end to end, in headless Debian Chromium (playwright-core), against a real local
// chain with finished rounds, a serving operator and paid inferences (scripts/lib/app/scenario.ts).
import { getAddress, parseEther } from "viem";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatEth } from "../../app/src/format.ts";
import { type RunningApp, startApp } from "../../app/server/startApp.ts";
import { modelTokenAbi } from "../../sdk/abi/modelToken.ts";
import { serveRpc } from "../../scripts/lib/rpcServer.ts";
import { accountAt, actionsOf, deployShardholder } from "../sdk/fixture.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";
import { launchChromium } from "../../scripts/lib/app/chromium.ts";
import { type AppScenario, ROLES, startAppScenario, stubGenerate, stubPieces } from "../../scripts/lib/app/scenario.ts";

const LONG = 240_000;

/** The browser globals the page-side callbacks touch (this file is checked without DOM types; the casts vanish at run time). */
type PageGlobals = {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null };
  ethereum?: unknown;
};

describe("web app (headless Chromium against a local chain)", () => {
  let sc: AppScenario;
  let browser: Browser;
  const pageErrors: string[] = [];
  const extraApps: RunningApp[] = [];

  beforeAll(async () => {
    browser = await launchChromium(); // fails first, with how to install Chromium, when it is missing
    sc = await startAppScenario();
  }, LONG);

  afterAll(async () => {
    await browser?.close();
    for (const app of extraApps) await app.close();
    await sc?.close();
  }, LONG);

  async function open(hash: string, app: RunningApp = sc.app): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(`${app.url}#${hash}`);
    return page;
  }

  async function pickDevAccount(page: Page, index: number): Promise<void> {
    await page.getByTestId("dev-account").first().selectOption(accountAt(sc.s, index));
  }

  /** Waits until the element's `data-wei` is `wei`. */
  async function waitWei(page: Page, testId: string, wei: bigint): Promise<void> {
    await page.waitForFunction(
      ([id, want]) =>
        (globalThis as unknown as PageGlobals).document.querySelector(`[data-testid="${id}"]`)?.getAttribute("data-wei") === want,
      [testId, wei.toString()] as const,
      { timeout: 60_000 },
    );
  }

  const claimableOnChain = (holder: `0x${string}`) =>
    sc.s.publicClient.readContract({ abi: modelTokenAbi, address: sc.token, functionName: "claimable", args: [holder] });

  it(
    "lists the model with its terms, and the loss chart has one point per final round",
    async () => {
      const page = await open("network");
      const model = page.getByTestId("model-row");
      await model.first().waitFor();
      expect(await model.count()).toBe(1);
      expect(await model.first().textContent()).toContain("Tiny Char Transformer");
      expect(sc.finalRounds.length).toBe(2);
      const chart = page.getByTestId("loss-chart");
      await chart.waitFor();
      const xs = await chart
        .locator("circle.point")
        .evaluateAll((els: { getAttribute(name: string): string | null }[]) => els.map((e) => e.getAttribute("data-x")));
      expect(xs).toEqual(sc.finalRounds.map(String));
      // The held-out loss has its own chart, with a point only where the run measured one.
      const held = page.getByTestId("eval-loss-chart");
      expect(
        await held
          .locator("circle.point")
          .evaluateAll((els: { getAttribute(name: string): string | null }[]) => els.map((e) => e.getAttribute("data-x"))),
      ).toEqual([String(sc.finalRounds[0])]);
      expect(await page.locator('[data-testid=round-row][data-status="final"]').count()).toBe(sc.finalRounds.length);
      await page.close();
    },
    LONG,
  );

  it(
    "shows a holder's claimable as the token's claimable(), follows chain events, and claims",
    async () => {
      const holder = accountAt(sc.s, ROLES.holderStage0);
      const page = await open("holdings");
      await page.getByTestId("no-wallet").waitFor();
      await pickDevAccount(page, ROLES.holderStage0);
      const id = `claimable-${sc.modelId}`;
      const before = await claimableOnChain(holder);
      expect(before).toBeGreaterThan(0n);
      await waitWei(page, id, before);
      expect(await page.getByTestId(id).textContent()).toBe(formatEth(before));
      expect(await page.getByTestId(`audit-${sc.modelId}`).textContent()).toContain("audit matches the token's claimable()");

      // Revenue paid elsewhere reaches the page through the chain's events, without a reload.
      await actionsOf(sc.s, ROLES.dapp).infer({
        modelId: sc.modelId,
        prompt: "The city of",
        feeWei: parseEther("0.03"),
        maxFeeWei: parseEther("0.03"),
        pollingInterval: 50,
      });
      const grown = await claimableOnChain(holder);
      expect(grown).toBeGreaterThan(before);
      await waitWei(page, id, grown);

      await page.getByTestId(`claim-${sc.modelId}`).click();
      await page.getByTestId("tx-done").waitFor({ timeout: 60_000 });
      expect(await claimableOnChain(holder)).toBe(0n);
      await waitWei(page, id, 0n);
      await waitWei(page, `claimed-${sc.modelId}`, grown);
      await waitWei(page, "eth-balance", await sc.s.publicClient.getBalance({ address: holder }));
      await page.close();
    },
    LONG,
  );

  it(
    "pays for an inference from the page, streams its text piece by piece, then shows the verified text and the fee split",
    async () => {
      const page = await open("try");
      await pickDevAccount(page, ROLES.dapp);
      const prompt = "She had been";
      const expected = stubGenerate(prompt);
      await page.getByTestId("prompt").fill(prompt);
      await page.getByTestId("fee").fill("0.005");
      // The operator generates only once the page follows the endpoint's output stream, so every piece reaches it live.
      const gate = sc.holdNextGeneration();
      await page.getByTestId("infer-button").click();
      await gate.followed;
      gate.release();
      // Streaming: part of the text is on the page before the whole of it, and before the verified result.
      await page.waitForFunction(
        (want) => {
          const doc = (globalThis as unknown as PageGlobals).document;
          const shown = doc.querySelector('[data-testid="infer-stream"]')?.textContent ?? "";
          return (
            shown.length > 0 &&
            shown.length < want.length &&
            want.startsWith(shown) &&
            doc.querySelector('[data-testid="infer-text"]') === null
          );
        },
        expected,
        { timeout: 60_000 },
      );
      const text = page.getByTestId("infer-text");
      await text.waitFor({ timeout: 120_000 });
      expect(await text.textContent()).toBe(expected);
      // One piece per word the stub generated, each received as it came.
      expect(await page.getByTestId("infer-result").getAttribute("data-streamed-pieces")).toBe(String(stubPieces(expected).length));
      expect(await page.getByTestId("infer-stream").count()).toBe(0); // the unverified preview gave way to the verified text
      expect(await page.getByTestId("stream-mismatch").count()).toBe(0);
      const wei = async (tid: string) => BigInt((await page.getByTestId(tid).getAttribute("data-wei")) ?? "-1");
      expect(await wei("split-fee")).toBe(parseEther("0.005"));
      expect((await wei("split-protocol")) + (await wei("split-operators")) + (await wei("split-holders"))).toBe(parseEther("0.005"));
      await page.close();
    },
    LONG,
  );

  /**
   * A new page with a stand-in EIP-1193 wallet for `account`: starts on `chainId`, switches on
   * request, refuses to sign (code 4001), forwards every read to the app's /rpc (so calls and their
   * reverts are the real chain's).
   */
  async function pageWithWallet(account: string, chainId: string): Promise<Page> {
    const page = await browser.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.addInitScript(
      ([account, startChainId]: readonly [string, string]) => {
        let chainId = startChainId;
        const listeners: Record<string, ((v: unknown) => void)[]> = {};
        const fail = (message: string, code: number) => Object.assign(new Error(message), { code });
        (globalThis as unknown as PageGlobals).ethereum = {
          async request({ method, params }: { method: string; params?: unknown }) {
            if (method === "eth_requestAccounts" || method === "eth_accounts") return [account];
            if (method === "eth_chainId") return chainId;
            if (method === "eth_sendTransaction") throw fail("User rejected the request.", 4001);
            if (method === "wallet_switchEthereumChain") {
              chainId = (params as { chainId: string }[])[0]?.chainId ?? chainId;
              for (const l of listeners.chainChanged ?? []) l(chainId);
              return null;
            }
            const res = await fetch("/rpc", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
            });
            const body = (await res.json()) as { result?: unknown; error?: { message: string; code: number; data?: unknown } };
            if (body.error) throw Object.assign(fail(body.error.message, body.error.code), { data: body.error.data });
            return body.result;
          },
          on: (event: string, l: (v: unknown) => void) => (listeners[event] ??= []).push(l),
          removeListener: (event: string, l: (v: unknown) => void) => (listeners[event] = (listeners[event] ?? []).filter((x) => x !== l)),
        };
      },
      [account, chainId] as const,
    );
    return page;
  }

  it(
    "injected wallet: says when it is on the wrong chain, switches, and reports a rejected transaction",
    async () => {
      const designer = accountAt(sc.s, ROLES.designer);
      const page = await pageWithWallet(designer, "0x1");
      await page.goto(`${sc.app.url}#holdings`);
      await page.getByTestId("connect-injected").click();
      await page.getByTestId("wrong-chain").waitFor();
      const claim = page.getByTestId(`claim-${sc.modelId}`);
      await claim.waitFor();
      expect(await claim.isDisabled()).toBe(true);
      await page.getByTestId("switch-chain").click();
      await page.getByTestId("wrong-chain").waitFor({ state: "detached" });
      const before = await claimableOnChain(designer);
      expect(before).toBeGreaterThan(0n);
      await claim.click();
      await page.getByTestId("tx-error-rejected").waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("tx-error").textContent()).toContain("rejected");
      expect(await claimableOnChain(designer)).toBe(before);
      await page.close();
    },
    LONG,
  );

  it(
    "reports a reverted transaction with the contract's custom error in words",
    async () => {
      // A holder that cannot take ETH: the model registry (a contract without receive()) is given
      // tokens and earns revenue, so the token's claim() reverts with ModelTokenTransferFailed on the real chain.
      const holder = sc.s.deployments.contracts.modelRegistry;
      const giver = actionsOf(sc.s, ROLES.holderStage1);
      const balance = await sc.s.publicClient.readContract({
        abi: modelTokenAbi,
        address: sc.token,
        functionName: "balanceOf",
        args: [accountAt(sc.s, ROLES.holderStage1)],
      });
      const sent = await giver.writeContract({
        abi: modelTokenAbi,
        address: sc.token,
        functionName: "transfer",
        args: [holder, balance / 2n],
      });
      await sc.s.publicClient.waitForTransactionReceipt({ hash: sent });
      await actionsOf(sc.s, ROLES.dapp).infer({
        modelId: sc.modelId,
        prompt: "It was the",
        feeWei: parseEther("0.01"),
        maxFeeWei: parseEther("0.01"),
        pollingInterval: 50,
      });
      const owed = await claimableOnChain(holder);
      expect(owed).toBeGreaterThan(0n);

      const page = await pageWithWallet(holder, "0x7a69");
      await page.goto(`${sc.app.url}#holdings`);
      await page.getByTestId("connect-injected").click();
      await waitWei(page, `claimable-${sc.modelId}`, owed);
      await page.getByTestId(`claim-${sc.modelId}`).click();
      const reverted = page.getByTestId("tx-error-reverted");
      await reverted.waitFor({ timeout: 60_000 });
      expect(await reverted.textContent()).toBe(`The contract refused: ModelToken reverted: transfer failed (${getAddress(holder)}).`);
      expect(await page.getByTestId("tx-error").textContent()).toContain("Custom error ModelTokenTransferFailed");
      expect(await claimableOnChain(holder)).toBe(owed);
      await page.close();
    },
    LONG,
  );

  it(
    "claims every model in one RevenueClaimer transaction",
    async () => {
      const designer = accountAt(sc.s, ROLES.designer);
      const owed = await claimableOnChain(designer);
      expect(owed).toBeGreaterThan(0n);
      const page = await open("holdings");
      await pickDevAccount(page, ROLES.designer);
      await waitWei(page, "total-claimable", owed);
      await page.getByTestId("claim-all").click();
      const done = page.getByTestId("tx-done");
      await done.waitFor({ timeout: 60_000 });
      expect(await done.textContent()).toContain("in one transaction");
      const hash = (await done.locator(".hash").getAttribute("title")) as `0x${string}`;
      const tx = await sc.s.publicClient.getTransaction({ hash });
      expect(tx.to?.toLowerCase()).toBe(sc.s.deployments.contracts.revenueClaimer.toLowerCase());
      expect(await claimableOnChain(designer)).toBe(0n);
      await waitWei(page, "total-claimable", 0n);
      await page.close();
    },
    LONG,
  );

  it(
    "says so when a chain has no models, and when its RPC does not answer",
    async () => {
      const empty = await deployShardholder();
      const rpc = await serveRpc(empty.connection.provider);
      try {
        const emptyApp = await startApp({ rpcUrl: rpc.url, deployments: empty.deployments, port: 0 });
        extraApps.push(emptyApp);
        const page = await open("network", emptyApp);
        await page.getByTestId("no-models").waitFor();
        await page.close();
      } finally {
        await rpc.close();
        await empty.connection.close();
      }
      const closed = `http://127.0.0.1:${await fixedLoopbackPort()}/`; // nothing listens there
      const downApp = await startApp({ rpcUrl: closed, deployments: sc.s.deployments, port: 0 });
      extraApps.push(downApp);
      const page = await open("holdings", downApp);
      await page.getByTestId("rpc-down").waitFor();
      expect(await page.getByTestId("rpc-down").textContent()).toContain(`Cannot reach the chain's JSON-RPC endpoint ${closed}`);
      await page.close();
    },
    LONG,
  );

  it(
    "keeps the last numbers and says the chain stopped answering when the RPC goes away",
    async () => {
      const page = await open("network");
      await page.getByTestId("loss-chart").waitFor();
      await sc.rpc.close();
      await page.getByTestId("rpc-down").waitFor({ timeout: 30_000 });
      expect(await page.getByTestId("rpc-down").textContent()).toContain("stopped answering");
      expect(await page.getByTestId("loss-chart").count()).toBe(1);
      await page.close();
      expect(pageErrors).toEqual([]);
    },
    LONG,
  );
});
