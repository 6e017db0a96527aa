import { BaseError } from "../../../sdk/errors/base.ts";

/** Shaped links cannot be built here (not root, no `ip netns`, no veth/vxlan/tbf): callers skip with `reason`. */
export class NetemUnavailableError extends BaseError {
  constructor(reason: string) {
    super(`Shaped links are unavailable: ${reason}`, {
      name: "NetemUnavailableError",
      metaMessages: ["They need root, iproute2's `ip netns`, and the kernel's veth, vxlan and tbf (scripts/lib/netem/README.md)."],
    });
  }
}

/** A shell command that builds or shapes the network failed. */
export class NetemCommandError extends BaseError {
  constructor({ argv, code, stderr }: { argv: readonly string[]; code: number | null; stderr: string }) {
    super(`\`${argv.join(" ")}\` failed (exit ${code ?? "signal"})`, { name: "NetemCommandError", details: stderr.trim() });
  }
}

/** A helper process (relay or probe) inside a namespace failed or answered something unexpected. */
export class NetemProcessError extends BaseError {
  constructor(what: string, details?: string) {
    super(what, { name: "NetemProcessError", ...(details ? { details } : {}) });
  }
}
