/**
 * Reads the gas figures the Solidity gas tests log (`emit log_named_uint(label, value)` prints
 * `label: value`; `console.log(label, value)` prints `label value`) into `{ label: gas }`.
 * Multi-value console lines (`execution gas total / per commitment: total perCommitment`) are
 * keyed by the section label printed on the line before them.
 */
export function parseForgeGasLogs(output: string): Record<string, number> {
  const figures: Record<string, number> = {};
  let section = "";
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    const named = /^(.+?):\s+(\d+)$/.exec(line);
    const perCommitment = /^execution gas total \/ per commitment:\s+(\d+)\s+(\d+)$/.exec(line);
    const consoleValue = /^(.+:)\s+(\d+)$/.exec(line);
    if (perCommitment) figures[`${section}: per commitment`] = Number(perCommitment[2]);
    else if (/^calldata gas per commitment:/.test(line)) figures[`${section}: calldata per commitment`] = Number(line.split(/\s+/).pop());
    else if (named && !/^(Logs|Traces|Suite|Ran)/.test(named[1]!)) figures[named[1]!.endsWith(":") ? named[1]! : named[1]!] = Number(named[2]);
    else if (consoleValue) figures[consoleValue[1]!] = Number(consoleValue[2]);
    else if (line && !/[✔✘]|passing|failing|^Running|^contracts\//.test(line)) section = line;
  }
  return figures;
}
