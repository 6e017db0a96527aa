// `npm start` ends in the web app (network kept up until Ctrl-C) only when a person runs it in a
// terminal; CI, a pipe, --json and --no-app exit after the summary as before.
import { describe, expect, it } from "vitest";
import { isCi, opensApp } from "../../scripts/lib/devnet/appMode.ts";

const terminal = { isTTY: true, env: {} };

describe("devnet: when the run ends in the web app", () => {
  it("a terminal outside CI opens it; --no-app, --json, a pipe or CI do not", () => {
    expect(opensApp({ app: true }, terminal)).toBe(true);
    expect(opensApp({ app: false }, terminal)).toBe(false);
    expect(opensApp({ app: true, json: true }, terminal)).toBe(false);
    expect(opensApp({ app: true }, { isTTY: false, env: {} })).toBe(false);
    expect(opensApp({ app: true }, { isTTY: true, env: { CI: "true" } })).toBe(false);
  });

  it("reads CI as CI services set it", () => {
    for (const ci of ["true", "1", "TRUE", "yes"]) expect(isCi({ CI: ci })).toBe(true);
    for (const ci of [undefined, "", "0", "false", " False "]) expect(isCi({ CI: ci })).toBe(false);
  });
});
