// The command registry and the one option table per command: every command module's command is
// registered, top-level --help lists each with its summary, and every option's default printed by
// --help is the value the parser fills in when the option is absent.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMON, parse } from "./args";
import type { Command, CommandGroup } from "./command";
import { captureIo } from "./io";
import { COMMANDS, run } from "./run";

const isGroup = (c: unknown): c is CommandGroup =>
  typeof c === "object" && c !== null && "subcommands" in c;
const isCommand = (c: unknown): c is Command =>
  typeof c === "object" && c !== null && "options" in c && "run" in c;

/** Every command reachable from the registry, by its path ("eval ppl"). */
async function registered(): Promise<Map<string, Command>> {
  const out = new Map<string, Command>();
  for (const e of COMMANDS) {
    const c = await e.load();
    if (isGroup(c)) for (const s of c.subcommands) out.set(`${e.name} ${s.name}`, s.command);
    else out.set(e.name, c);
  }
  return out;
}

async function help(path: string): Promise<string> {
  const io = captureIo();
  expect(await run([...path.split(" "), "--help"], io), path).toBe(0);
  return io.stdout;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("command registry", () => {
  it("holds the command of every command module", async () => {
    const reachable = new Set<unknown>([...(await registered()).values()]);
    for (const e of COMMANDS) reachable.add(await e.load());
    const dir = join(import.meta.dirname, "commands");
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
      const mod = (await import(join(dir, f))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) {
        if (isCommand(value) || isGroup(value))
          expect(reachable.has(value), `${f}: ${name} is not in the registry`).toBe(true);
      }
    }
  });

  it("lists every command with its summary in top-level --help", async () => {
    const io = captureIo();
    expect(await run(["--help"], io)).toBe(0);
    for (const e of COMMANDS) expect(io.stdout).toContain(`  ${e.name.padEnd(10)} ${e.summary}\n`);
    expect(new Set(COMMANDS.map((e) => e.name)).size).toBe(COMMANDS.length);
  });

  it("dispatches every registered command and subcommand (its --help exits 0)", async () => {
    for (const e of COMMANDS) await help(e.name);
    for (const path of (await registered()).keys()) await help(path);
  });
});

describe("option defaults", () => {
  it("--help shows, for every option, the default the parser applies", async () => {
    let checked = 0;
    for (const [path, cmd] of await registered()) {
      const text = await help(path);
      const applied = parse(path, [], cmd.options, cmd.positionals ?? 0).values;
      for (const [name, spec] of Object.entries({ ...cmd.options, ...COMMON })) {
        const line = text
          .split("\n")
          .find((l) => new RegExp(`^  (?:-\\w, | {4})--${escapeRe(name)}(?: \\S+)? `).test(l));
        expect(line, `${path} --${name} missing from --help`).toBeDefined();
        const shown = / \(default: (.*)\)$/.exec(line!)?.[1];
        const where = `${path} --${name}`;
        expect(spec.default === undefined || spec.computedDefault === undefined, where).toBe(true);
        if (spec.computedDefault !== undefined) {
          // a default the command computes: the parser fills in nothing, help describes it
          expect(applied[name], where).toBeUndefined();
          expect(shown, where).toBe(spec.computedDefault);
        } else if (applied[name] === undefined) {
          expect(shown, where).toBeUndefined();
        } else {
          expect(shown, `${where} has no default in --help`).toBeDefined();
          const value = shown!.startsWith('"') ? JSON.parse(shown!) : shown;
          const parsed = applied[name];
          expect(Array.isArray(parsed) ? parsed.join(",") : parsed, where).toBe(value);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});
