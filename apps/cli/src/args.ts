// Option parsing on node:util parseArgs (strict: unknown options and missing values are errors),
// plus typed validators that turn bad values into UsageErrors naming the option and what was
// expected. Each command has one option table: the parser applies its defaults and --help prints
// them from it, so a default is written once.

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
  /** the value the parser fills in when the option is absent; --help prints it */
  default?: string;
  /**
   * --help's words for a default the command computes from other options or the environment
   * (e.g. "the model's"); the parser fills in nothing. Exclusive with `default`.
   */
  computedDefault?: string;
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

/** Result of {@link parse}. */
export interface Parsed {
  /** the options with the table's defaults filled in */
  values: Values;
  /** only the options given on the command line */
  given: Values;
  positionals: string[];
}

/** `given` with every absent option that has a `default` in `specs` filled in. */
export function withDefaults(given: Values, specs: OptionSpecs): Values {
  const out: Values = { ...given };
  for (const [k, s] of Object.entries(specs)) {
    if (out[k] === undefined && s.default !== undefined)
      out[k] = s.multiple ? [s.default] : s.default;
  }
  return out;
}

/**
 * Parses `argv` against `specs` (+ COMMON) and applies the defaults of `specs`; throws UsageError
 * for anything parseArgs rejects.
 */
export function parse(
  command: string,
  argv: string[],
  specs: OptionSpecs,
  maxPositionals = 0,
): Parsed {
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
  const given = res.values as Values;
  return { values: withDefaults(given, specs), given, positionals: res.positionals };
}

/** How --help shows an option's default ("" when it has none). */
function defaultText(s: OptionSpec): string {
  if (s.computedDefault !== undefined) return s.computedDefault;
  if (s.default === undefined) return "";
  return /\s/.test(s.default) ? JSON.stringify(s.default) : s.default;
}

/** The help text of a command. */
export function helpText(usage: string, about: string, specs: OptionSpecs): string {
  const rows = Object.entries({ ...specs, ...COMMON }).map(([k, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${k}${s.arg ? ` ${s.arg}` : ""}`;
    const def = defaultText(s);
    return `  ${flag.padEnd(30)} ${s.help}${def !== "" ? ` (default: ${def})` : ""}`;
  });
  return `Usage: ${usage}\n\n${about}\n\nOptions:\n${rows.join("\n")}\n`;
}

/** A string option's value (the last one of a repeated option). */
export function str(v: Values, name: string): string | undefined {
  const x = v[name];
  if (Array.isArray(x)) return x[x.length - 1];
  return typeof x === "string" ? x : undefined;
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
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = str(v, name);
  if (raw === undefined) return undefined;
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
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): number | undefined {
  const raw = str(v, name);
  if (raw === undefined) return undefined;
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
): T | undefined {
  const raw = str(v, name);
  if (raw === undefined) return undefined;
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
