// Public surface of @anllm/cli for in-process use and tests: `run(argv)` and the command list.

export type { Command } from "./command";
export { UsageError } from "./errors";
export { captureIo, type Io, processIo } from "./io";
export { COMMANDS, type CommandEntry, run } from "./run";
