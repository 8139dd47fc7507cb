// CLI reference: runs the CLI's own `--help` (through its public `run(argv, io)`, exactly what the
// `anllm` binary calls) for the program and every command it lists, and writes reference/cli.md
// from that text, so the page can never drift from the code.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Output of one `anllm ... --help` run. */
interface HelpRun {
  readonly args: string[];
  readonly status: number;
  readonly text: string;
}

type RunCli = (
  argv: string[],
  io: { out(t: string): void; err(t: string): void },
) => Promise<number>;

async function runHelp(run: RunCli, args: string[]): Promise<HelpRun> {
  let text = "";
  const io = { out: (t: string) => void (text += t), err: (t: string) => void (text += t) };
  const status = await run([...args, "--help"], io);
  return { args, status, text: text.trimEnd() };
}

/**
 * Command paths listed in a help text: the first word(s) of the indented lines of a section whose
 * heading starts with "Commands" (e.g. `  eval ppl   perplexity ...` -> ["eval", "ppl"]).
 */
export function listedCommands(help: string): string[][] {
  const out: string[][] = [];
  let inSection = false;
  for (const line of help.split("\n")) {
    if (/^\s*commands\b.*:?\s*$/i.test(line)) {
      inSection = true;
      continue;
    }
    if (!inSection) continue;
    if (line.trim() === "" || /^\S/.test(line)) {
      if (out.length > 0) break;
      continue;
    }
    const words = line
      .trim()
      .split(/\s{2,}/)[0]!
      .split(/\s+/);
    const path = words.filter((w) => /^[a-z][a-z0-9-]*$/.test(w));
    if (path.length > 0 && path.length === words.length) out.push(path);
    else if (path.length > 0)
      out.push(
        path.slice(
          0,
          words.findIndex((w) => !/^[a-z][a-z0-9-]*$/.test(w)),
        ),
      );
  }
  return out.filter((p) => p.length > 0);
}

/**
 * Subcommands a command's help names: `Usage: anllm eval <ppl|qa|cache>` or a line
 * `Subcommands: inspect, list.`
 */
export function subcommandsOf(help: string, command: string): string[] {
  const out = new Set<string>();
  const usage = help.match(new RegExp(`^Usage: anllm ${command} <([a-z|-]+)>`, "m"));
  for (const s of usage?.[1]?.split("|") ?? []) out.add(s);
  const line = help.match(/^Subcommands:\s*([a-z, -]+)/m);
  for (const s of line?.[1]?.split(/[,\s]+/) ?? []) if (s !== "") out.add(s);
  return [...out];
}

/** Writes reference/cli.md; returns how many commands were documented. */
export async function generateCliReference(repoRoot: string, docsRoot: string): Promise<number> {
  const dir = join(docsRoot, "reference");
  mkdirSync(dir, { recursive: true });
  const page = join(dir, "cli.md");
  const head = [
    "# CLI reference",
    "",
    "Generated at build time from the CLI's own help text (`pnpm anllm <command> --help`); edit the",
    "CLI, not this page. For a walk-through see [Getting started](../guide/getting-started.md) and",
    "[Training on a GPU](../guide/training-on-a-gpu.md).",
    "",
  ];
  if (!existsSync(join(repoRoot, "apps", "cli", "src", "main.ts"))) {
    writeFileSync(
      page,
      [
        ...head,
        "::: warning",
        "The CLI (`apps/cli/src/main.ts`) was not present when this site was built.",
        ":::",
        "",
      ].join("\n"),
    );
    console.log("cli: apps/cli/src/main.ts missing; wrote a placeholder page saying so");
    return 0;
  }
  const { run } = (await import("@anllm/cli")) as { run: RunCli };
  const top = await runHelp(run, []);
  const sections: string[] = [];
  const failures: string[] = [];
  const document = (r: HelpRun): void => {
    const title = `anllm ${r.args.join(" ")}`.trim();
    sections.push(`## ${title}`, "");
    if (r.status !== 0) {
      failures.push(title);
      sections.push(
        "::: danger HELP FAILED",
        `\`${title} --help\` exited with status ${r.status} when this site was built; its output:`,
        ":::",
        "",
      );
    }
    sections.push("```text", r.text, "```", "");
  };
  document(top);
  const commands = top.status === 0 ? listedCommands(top.text) : [];
  for (const path of commands) {
    const r = await runHelp(run, path);
    document(r);
    // One level of subcommands (e.g. `eval ppl`), named in the command's own help.
    for (const sub of r.status === 0 ? subcommandsOf(r.text, path.join(" ")) : []) {
      const s = await runHelp(run, [...path, sub]);
      if (s.text !== r.text) document(s);
    }
  }
  if (failures.length > 0) {
    console.warn(`cli: WARNING: --help failed for: ${failures.join("; ")} (marked on the page)`);
  }
  writeFileSync(page, [...head, ...sections].join("\n"));
  console.log(`cli: documented ${sections.filter((l) => l.startsWith("## ")).length} help texts`);
  return commands.length;
}
