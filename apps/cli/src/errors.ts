// Named errors of the CLI. A UsageError (bad or missing option) exits with code 2 and a hint to
// `--help`; any other error exits with code 1.

/** A command-line option is unknown, missing, malformed or out of range. */
export class UsageError extends Error {
  constructor(
    /** the command, e.g. "train" or "eval ppl" */
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}
