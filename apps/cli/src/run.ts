// Entry of the CLI as a function (`run(argv) -> exit code`): the command registry, dispatch to a
// command or subcommand (parsing its options and answering --help from its option table), and the
// mapping of UsageError to exit code 2 (message + hint on stderr) and of any other error to exit
// code 1; with --json a failure is also reported as one JSON object on stdout.

import { helpText, parse } from "./args";
import type { Command, CommandGroup } from "./command";
import { UsageError } from "./errors";
import { type Io, processIo } from "./io";

/** A registry entry; the command's module is imported only when the command runs (fast start-up). */
export interface CommandEntry {
  name: string;
  /** the line top-level --help shows */
  summary: string;
  load: () => Promise<Command | CommandGroup>;
}

/** The command registry: every command, in the order --help lists them. */
export const COMMANDS: CommandEntry[] = [
  {
    name: "demo",
    summary: "the main job: train a small AnLLM-AC, evaluate, generate, summarise",
    load: async () => (await import("./commands/demo")).demoCommand,
  },
  {
    name: "train",
    summary: "continual pre-training with the anchor mask (checkpoints, metrics, resume)",
    load: async () => (await import("./commands/train")).trainCommand,
  },
  {
    name: "generate",
    summary: "generate text with the anchor (or full) KV cache; reports the cache reduction",
    load: async () => (await import("./commands/generate")).generateCommand,
  },
  {
    name: "eval",
    summary: "eval ppl | qa | cache: perplexity, multiple-choice QA, KV cache reduction",
    load: async () => (await import("./commands/eval")).evalCommand,
  },
  {
    name: "data",
    summary: "data inspect PATH: documents, tokens, anchors, skipped records by reason",
    load: async () => (await import("./commands/data")).dataCommand,
  },
  {
    name: "convert",
    summary: "write a model folder (safetensors or pytorch_model.bin) as HF safetensors",
    load: async () => (await import("./commands/convert")).convertCommand,
  },
  {
    name: "mask",
    summary: "print the anchor attention mask of a short text",
    load: async () => (await import("./commands/mask")).maskCommand,
  },
];

/** The --help text of a command group: its subcommands with their summaries. */
function groupHelp(path: string, group: CommandGroup): string {
  const width = Math.max(...group.subcommands.map((s) => s.name.length)) + 1;
  const rows = group.subcommands.map((s) => `  ${s.name.padEnd(width)} ${s.summary}`);
  return `Usage: ${group.usage}\n\n${rows.join("\n")}\n\nRun "anllm ${path} <sub> --help" for options.\n`;
}

/** Runs `cmd` (named `path`, e.g. "eval ppl" in messages) on the arguments after its name. */
async function dispatch(path: string, cmd: Command | CommandGroup, argv: string[], io: Io) {
  if ("subcommands" in cmd) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "--help" || sub === "-h") {
      io.out(groupHelp(path, cmd));
      return 0;
    }
    const entry = cmd.subcommands.find((s) => s.name === sub);
    if (!entry) {
      const names = cmd.subcommands.map((s) => s.name).join(", ");
      throw new UsageError(path, `unknown subcommand "${sub}" (expected: ${names})`);
    }
    return dispatch(`${path} ${sub}`, entry.command, rest, io);
  }
  const parsed = parse(path, argv, cmd.options, cmd.positionals ?? 0);
  if (parsed.values.help) {
    io.out(helpText(cmd.usage, cmd.about, cmd.options));
    return 0;
  }
  return cmd.run(parsed, io);
}

function topHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return (
    "Usage: anllm <command> [options]\n\n" +
    "Anchor-based LLMs (AnLLM) on WebGPU: train, evaluate and generate with the anchor mask.\n\n" +
    `Commands:\n${rows.join("\n")}\n\n` +
    'Run "anllm <command> --help" for a command\'s options. Env ANLLM_DEVICE=cpu|webgpu picks the device.\n'
  );
}

/**
 * Runs the CLI in-process and resolves to the exit code (0 ok, 1 failure, 2 bad usage).
 * @example
 * const code = await run(["mask", "--text", "Hi. Bye.", "--anchor", "ep"]);
 */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(topHelp());
    return 0;
  }
  if (name === "--version") {
    io.out("0.1.0\n");
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err(`anllm: unknown command "${name}"\n\n${topHelp()}`);
    return 2;
  }
  const json = rest.includes("--json");
  try {
    return await dispatch(name, await cmd.load(), rest, io);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const usage = err instanceof UsageError;
    const where = usage ? (err as UsageError).command : name;
    io.err(`anllm ${where}: ${usage ? "" : `${err.name}: `}${err.message}\n`);
    if (usage) io.err(`Run "anllm ${where} --help" for usage.\n`);
    else if (process.env.ANLLM_DEBUG && err.stack) io.err(`${err.stack}\n`);
    if (json) {
      io.out(`${JSON.stringify({ ok: false, error: { name: err.name, message: err.message } })}\n`);
    }
    return usage ? 2 : 1;
  }
}
