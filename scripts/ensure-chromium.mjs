// The web app's end-to-end test drives Debian's Chromium through playwright-core, which never
// downloads a browser. `npm test` on a fresh machine of this kind installs it from Debian's
// packages when it is missing and we may (root with apt-get); otherwise it says how, and the
// e2e test fails with the same one-line instruction.
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";

const has = (cmd) => {
  try {
    execSync(`command -v ${cmd}`, { stdio: "ignore", shell: "/bin/sh" });
    return true;
  } catch {
    return false;
  }
};

if (!existsSync("/usr/bin/chromium") && !has("chromium")) {
  if (process.getuid?.() === 0 && has("apt-get")) {
    console.error("shardholder: installing Debian's chromium for the web app's browser tests (apt-get install -y chromium)...");
    execSync("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium", {
      stdio: "inherit",
      shell: "/bin/sh",
    });
  } else {
    console.error("shardholder: chromium is missing; the web app's browser tests need it: sudo apt-get install -y chromium");
  }
}
