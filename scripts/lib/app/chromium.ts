// Debian's Chromium driven by playwright-core: no browser is ever downloaded. Used by the app's
// end-to-end test (test/app/app.e2e.test.ts) and by scripts/screenshots-app.ts.
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.SHARDHOLDER_CHROMIUM ?? "/usr/bin/chromium";

/** Flags for a headless Chromium on a machine whose network is closed (and run as root). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

/** Launches Chromium, or says how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `Chromium is missing (${CHROMIUM_PATH}): the web app's end-to-end test drives Debian's Chromium through playwright-core and never downloads a browser. ` +
        "Install it with `apt-get install -y chromium` (or point SHARDHOLDER_CHROMIUM at a Chromium binary).",
    );
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
