// Hardhat 3 runs on EDR, whose native binding declares engines.node >= 22. When `npm install`
// runs on an older system Node, npm silently skips the binding and every Hardhat command fails.
// The project brings its own Node 24 (devDependency `node`), and inside npm lifecycle scripts
// `node_modules/.bin` comes first on PATH, so re-running `npm install` from here fetches it.
import { createRequire } from "node:module";
import { execSync } from "node:child_process";

const require = createRequire(import.meta.url);

function edrLoads() {
  try {
    require("@nomicfoundation/edr");
    return true;
  } catch {
    return false;
  }
}

if (!edrLoads()) {
  if (process.env.SHARDHOLDER_EDR_HEAL) {
    console.error("shardholder: the Hardhat EDR binding still does not load after a reinstall (Node " + process.version + ").");
    process.exit(1);
  }
  console.error(
    `shardholder: Hardhat's EDR binding is missing (npm ran on Node ${process.version}); reinstalling on the project's Node 24...`,
  );
  execSync("npm install --no-audit --no-fund", {
    stdio: "inherit",
    env: { ...process.env, SHARDHOLDER_EDR_HEAL: "1" },
  });
}
