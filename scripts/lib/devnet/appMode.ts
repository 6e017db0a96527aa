// How a devnet run ends: in the web app, with the network kept up for it until Ctrl-C, when a
// person runs it in a terminal; as before (summary, then exit) in CI, through a pipe, with --json
// or with --no-app. One pure decision, so the rule is tested without a terminal.

/** What the decision reads of the process: whether stdout is a terminal, and the environment. */
export type RunContext = { isTTY: boolean; env: Readonly<Record<string, string | undefined>> };

/** Whether the environment says CI (`CI` set to anything but empty, `0` or `false`, as CI services set it). */
export function isCi(env: RunContext["env"]): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
}

/**
 * Whether the run ends in the web app: `--no-app` not given (`app`), no `--json`, stdout a
 * terminal, not CI. Such a run also keeps the network up (as `--keep-running`) until Ctrl-C.
 *
 * @example
 * opensApp({ app: true, json: false }, { isTTY: process.stdout.isTTY === true, env: process.env })
 */
export function opensApp(opts: { app: boolean; json?: boolean | undefined }, run: RunContext): boolean {
  return opts.app && !opts.json && run.isTTY && !isCi(run.env);
}
