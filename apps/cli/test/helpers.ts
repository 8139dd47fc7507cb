// Helpers for in-process CLI tests: run(argv) with captured stdout/stderr.

import { join } from "node:path";
import { captureIo, run } from "../src/index";

/** Runs the CLI in-process; returns the exit code and both streams. */
export async function cli(
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await run(argv, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** Runs with --json and parses stdout. */
export async function cliJson<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
  const r = await cli(...argv, "--json");
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export const FIXTURES = join(import.meta.dirname, "fixtures");

/** `train` options of the tiny model on the fixture corpus (add --seq-len, --steps, --out, ...). */
export const TINY_TRAIN = [
  "--model",
  "tiny",
  "--data",
  join(FIXTURES, "corpus"),
  "--batch-size",
  "4",
] as const;

/** Parsed --json output, inspected loosely in tests. */
// biome-ignore lint/suspicious/noExplicitAny: command outputs are checked field by field
export type AnyJson = Record<string, any>;
