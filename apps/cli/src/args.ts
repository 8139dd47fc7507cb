// Option parsing on node:util parseArgs (strict: unknown options and missing values are errors),
// plus typed validators that turn bad values into UsageErrors naming the option and what was
// expected, and a help-text builder shared by every command.

import { parseArgs } from "node:util";
import { UsageError } from "./errors";

/** One option of a command. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** shown in --help, e.g. "N" or "FILE" */
  arg?: string;
  help: string;
  /** default shown in --help (applied by the command, not by the parser) */
  def?: string;
}

/** A command's options. */
export type OptionSpecs = Record<string, OptionSpec>;

/** Options every command accepts. */
export const COMMON: OptionSpecs = {
  help: { type: "boolean", short: "h", help: "show this help" },
  json: { type: "boolean", help: "print one JSON object on stdout (logs go to stderr)" },
};

/** Parsed values: strings, booleans or string arrays (multiple). */
export type Values = Record<string, string | boolean | string[] | undefined>;

/** Parses `argv` against `specs` (+ COMMON); throws UsageError for anything parseArgs rejects. */
export function parse(
  command: string,
  argv: string[],
  specs: OptionSpecs,
  maxPositionals = 0,
): { values: Values; positionals: string[] } {
  const all = { ...COMMON, ...specs };
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [k, s] of Object.entries(all)) {
    options[k] = {
      type: s.type,
      ...(s.short ? { short: s.short } : {}),
      multiple: s.multiple === true,
    };
  }
  let res: ReturnType<typeof parseArgs>;
  try {
    res = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(command, (e as Error).message.replace(/\. To specify .*$/s, ""));
  }
  if (res.positionals.length > maxPositionals && !res.values.help) {
    throw new UsageError(command, `unexpected argument "${res.positionals[maxPositionals]}"`);
  }
  return { values: res.values as Values, positionals: res.positionals };
}

/** The help text of a command. */
export function helpText(usage: string, about: string, specs: OptionSpecs): string {
  const rows = Object.entries({ ...specs, ...COMMON }).map(([k, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${k}${s.arg ? ` ${s.arg}` : ""}`;
    return `  ${flag.padEnd(30)} ${s.help}${s.def !== undefined ? ` (default: ${s.def})` : ""}`;
  });
  return `Usage: ${usage}\n\n${about}\n\nOptions:\n${rows.join("\n")}\n`;
}

/** A string option's value, or `def`. */
export function str(v: Values, name: string, def?: string): string | undefined {
  const x = v[name];
  if (Array.isArray(x)) return x[x.length - 1];
  return typeof x === "string" ? x : def;
}

/** A required string option. */
export function required(command: string, v: Values, name: string, what: string): string {
  const x = str(v, name);
  if (x === undefined || x === "") throw new UsageError(command, `--${name} is required (${what})`);
  return x;
}

/** An integer option within [min, max]. */
export function int(
  command: string,
  v: Values,
  name: string,
  def: number | undefined,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = str(v, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(command, `--${name} expects an integer ${range}, got "${raw}"`);
  }
  return n;
}

/** A finite number option within [min, max]. */
export function num(
  command: string,
  v: Values,
  name: string,
  def: number | undefined,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): number | undefined {
  const raw = str(v, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(command, `--${name} expects a number in [${min}, ${max}], got "${raw}"`);
  }
  return n;
}

/** An option restricted to `choices`. */
export function choice<T extends string>(
  command: string,
  v: Values,
  name: string,
  choices: readonly T[],
  def: T,
): T {
  const raw = str(v, name);
  if (raw === undefined) return def;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(command, `--${name} expects one of ${choices.join("|")}, got "${raw}"`);
  }
  return raw as T;
}

/** A comma-separated list of integers, e.g. "1,2,3". */
export function intList(command: string, v: Values, name: string): number[] | undefined {
  const raw = str(v, name);
  if (raw === undefined) return undefined;
  const parts = raw.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new UsageError(command, `--${name} expects comma-separated integers >= 0, got "${raw}"`);
  }
  return parts.map(Number);
}
