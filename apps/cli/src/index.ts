// Public surface of @anllm/cli for in-process use and tests: `run(argv)`, the command registry and
// the types a command is written against.

export type { OptionSpec, OptionSpecs, Parsed, Values } from "./args";
export type { Command, CommandGroup, Subcommand } from "./command";
export { UsageError } from "./errors";
export { captureIo, type Io, processIo } from "./io";
export { COMMANDS, type CommandEntry, run } from "./run";
