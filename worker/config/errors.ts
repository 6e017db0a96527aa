import { BaseError } from "../../sdk/errors/base.ts";

/** A flag or environment value is malformed. */
export class ConfigError extends BaseError {
  readonly option: string;
  constructor({ option, reason }: { option: string; reason: string }) {
    super(`Invalid ${option}: ${reason}.`, { name: "ConfigError" });
    this.option = option;
  }
}
