// How `--network FILE` reaches the options of every subcommand (commander hooks, so no command's
// definition changes): before a subcommand parses its flags, its `--model` and `--spec` get the
// network's values (source "config"), which a flag on the command line then overrides. A
// `--spec` becomes optional: a command left without one fetches the model's spec from the
// network by its on-chain hash (`resolveSpec`, set by the caller) before its action runs.
import type { Command, Option } from "commander";
import { loadNetworkFile, type Network, networkModel } from "./network.ts";

/** Fetches and checks the spec of `modelId` when a command got no `--spec`; returns its file. */
export type SpecResolver = (p: { command: Command; modelId: bigint; network?: Network | undefined }) => Promise<string>;

const findOption = (command: Command, long: string): Option | undefined => command.options.find((o) => o.long === long);

/** Parses `value` as `option` would parse a flag (e.g. `--model`'s bigint). */
function parsed(option: Option, value: string): unknown {
  return option.parseArg ? option.parseArg(value, undefined) : value;
}

/**
 * Installs the `--network` defaults on `program` (which must define `--network <file>`) and makes
 * `--spec` optional where `resolveSpec` can stand in for it.
 *
 * @example
 * installNetworkDefaults(program, { resolveSpec: fetchSpecFromNetwork })
 */
export function installNetworkDefaults(program: Command, { resolveSpec }: { resolveSpec?: SpecResolver | undefined } = {}): Command {
  let network: Network | undefined;
  program.hook("preSubcommand", (root, sub) => {
    const file = root.opts<{ network?: string }>().network;
    network = file !== undefined ? loadNetworkFile(file) : undefined;
    const spec = findOption(sub, "--spec");
    if (spec?.mandatory && resolveSpec) spec.mandatory = false;
    if (!network) return;
    const model = findOption(sub, "--model");
    const first = networkModel(network);
    if (model && first && sub.getOptionValue("model") === undefined)
      sub.setOptionValueWithSource("model", parsed(model, first.id), "config");
    if (spec && first?.specFile && sub.getOptionValue("spec") === undefined) sub.setOptionValueWithSource("spec", first.specFile, "config");
  });
  program.hook("preAction", async (_root, action) => {
    const spec = findOption(action, "--spec");
    if (!spec || findOption(action, "--model") === undefined) return;
    const modelValue = action.getOptionValue("model") as bigint | string | undefined;
    if (modelValue === undefined) return;
    // `--model N` named another model than the network's first: its spec is that model's, if listed.
    if (action.getOptionValueSource("spec") === "config" && action.getOptionValueSource("model") !== "config") {
      const other = network ? networkModel(network, BigInt(modelValue)) : undefined;
      action.setOptionValueWithSource("spec", other?.specFile, "config");
    }
    if (action.getOptionValue("spec") === undefined && resolveSpec) {
      action.setOptionValueWithSource("spec", await resolveSpec({ command: action, modelId: BigInt(modelValue), network }), "config");
    }
  });
  return program;
}
