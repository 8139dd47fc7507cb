// The shape of a CLI command: a name, a one-line summary, and a run function that gets the
// arguments after the command name and an Io; it returns the exit code.

import type { Io } from "./io";

/** One `anllm <name>` command. */
export interface Command {
  name: string;
  summary: string;
  run(argv: string[], io: Io): Promise<number>;
}
