// The shape of a CLI command: its --help text and option table (one table parses the options,
// applies their defaults and prints --help) and a run function that gets the parsed options and an
// Io; it returns the exit code. A command group (`anllm eval ppl|qa|cache`) lists subcommands.

import type { OptionSpecs, Parsed } from "./args";
import type { Io } from "./io";

/** One `anllm <name>` (or `anllm <group> <name>`) command. */
export interface Command {
  /** the --help usage line, after "Usage: " */
  usage: string;
  /** what --help says the command does */
  about: string;
  /** the option table: parsing, defaults and --help */
  options: OptionSpecs;
  /** how many positional arguments it accepts (0 when absent) */
  positionals?: number;
  run(args: Parsed, io: Io): Promise<number>;
}

/** A subcommand of a group, with the summary its group's --help lists. */
export interface Subcommand {
  name: string;
  summary: string;
  command: Command;
}

/** `anllm <group> <sub> ...`: a command made of subcommands. */
export interface CommandGroup {
  /** the --help usage line, after "Usage: " (names the subcommands as `<a|b>`) */
  usage: string;
  subcommands: readonly Subcommand[];
}
