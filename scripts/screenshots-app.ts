// `npm run screenshots:app`: regenerates docs/app-*.png, the README's pictures of the web app,
// from the same scripted network as its end-to-end test (scripts/lib/app/scenario.ts: two finalized
// rounds, a served model with a stub generator, two paid inferences, made-up loss numbers).
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { launchChromium } from "./lib/app/chromium.ts";
import { ROLES, startAppScenario } from "./lib/app/scenario.ts";

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "docs");

async function pickDevAccount(page: Page, index: number): Promise<void> {
  const select = page.getByTestId("dev-account").first();
  const value = await select
    .locator("option")
    .nth(index + 1)
    .getAttribute("value");
  await select.selectOption(value ?? "");
}

const scenario = await startAppScenario();
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const shot = async (name: string) => {
    const file = path.join(docs, `app-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  };

  await page.goto(`${scenario.app.url}#holdings`);
  await pickDevAccount(page, ROLES.holderStage0);
  await page.getByTestId(`claimable-${scenario.modelId}`).waitFor();
  await page.locator(`[data-testid=audit-${scenario.modelId}] summary`).click();
  await shot("holdings");

  await page.goto(`${scenario.app.url}#network`);
  await page.getByTestId("loss-chart").waitFor();
  await page.getByTestId("revenue-chart").waitFor();
  await shot("network");

  await page.goto(`${scenario.app.url}#try`);
  await pickDevAccount(page, ROLES.dapp);
  await page.getByTestId("prompt").fill("In the morning the");
  await page.getByTestId("infer-button").click();
  await page.getByTestId("infer-text").waitFor({ timeout: 120_000 });
  await shot("try");
} finally {
  await browser.close();
  await scenario.close();
}
process.exit(0);
