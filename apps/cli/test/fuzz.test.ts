// Fuzz (seeded, time-bounded): random option values for every command, random corruptions of a
// model's anllm.json and of a run's newest checkpoint. Each run must end within its time limit
// with exit 0, 1 or 2 and no stack trace; exit 0 with --json prints one JSON object with no NaN or
// Infinity; exit 2 names the option (--help hint); exit 1 from a corrupted file names the file.
// Prints how many cases of each kind it tried. The generator is @anllm/tensor's seeded RNG.

import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "@anllm/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, FIXTURES } from "./helpers";

process.env.ANLLM_DEVICE ??= "cpu";
const SEED = 16_016;
const CORPUS = join(FIXTURES, "corpus");
const tmp = () => mkdtempSync(join(tmpdir(), "anllm-fuzz-"));
let run = "";

beforeAll(async () => {
  run = join(tmp(), "run");
  const r = await cli(
    "train",
    "--model",
    "tiny",
    "--data",
    CORPUS,
    "--batch-size",
    "2",
    "--seq-len",
    "32",
    "--steps",
    "4",
    "--checkpoint-every",
    "2",
    "--out",
    run,
  );
  if (r.code !== 0) throw new Error(r.stderr);
});

const rng = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;

/** Option values a hostile user might type. */
const VALUES = [
  "0",
  "-1",
  "1",
  "2",
  "3",
  "17",
  "64",
  "300",
  "1e3",
  "0.5",
  "-0",
  "NaN",
  "Infinity",
  "abc",
  "",
  " 7",
  "0x10",
  "99999999999",
  "1,2",
  "2,,3",
  "5,4000",
  "full",
  "anchor",
  "ep",
  "ac",
  "none",
  "/proc/anllm-x",
  "/dev/null",
  "/no/such/file",
];

/** Commands with their fixed arguments and the options to fuzz. */
function commands(): Record<string, { base: () => string[]; options: string[] }> {
  return {
    generate: {
      base: () => ["generate", "--model", run, "--prompt-ids", "1,5,6"],
      options: [
        "max-new-tokens",
        "temperature",
        "top-k",
        "top-p",
        "seed",
        "chunk-size",
        "anchor-ids",
        "attention",
        "anchor",
        "tokenizer",
      ],
    },
    "eval ppl": {
      base: () => ["eval", "ppl", "--model", run, "--max-windows", "2"],
      options: ["lengths", "stride", "batch-size", "attention", "max-windows", "out", "data"],
    },
    mask: { base: () => ["mask", "--text", "One. Two three."], options: ["anchor", "text"] },
    "data inspect": {
      base: () => ["data", "inspect", CORPUS, "--tokenizer", "bytes"],
      options: ["max-docs", "seq-len", "anchor", "tokenizer"],
    },
    train: {
      base: () => [
        "train",
        "--model",
        "tiny",
        "--data",
        CORPUS,
        "--steps",
        "1",
        "--batch-size",
        "2",
        "--seq-len",
        "16",
        "--out",
        join(tmp(), "t"),
      ],
      options: [
        "batch-size",
        "seq-len",
        "lr",
        "warmup",
        "grad-accum",
        "schedule",
        "min-lr-ratio",
        "max-grad-norm",
        "seed",
        "checkpoint-every",
        "weight-decay",
        "anchor",
        "data",
        "out",
      ],
    },
  };
}

/** Runs one case and checks the common contract; returns the exit code. */
async function check(argv: string[], limitMs: number): Promise<number> {
  const t0 = Date.now();
  const r = await cli(...argv);
  const what = argv.join(" ");
  expect(Date.now() - t0, what).toBeLessThan(limitMs);
  expect([0, 1, 2], `${what}: exit ${r.code}`).toContain(r.code);
  expect(r.stderr, what).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  if (r.code === 2) expect(r.stderr, what).toContain("--help");
  if (r.code === 0 && argv.includes("--json")) {
    expect(r.stdout, what).not.toMatch(/\bNaN\b|\bInfinity\b/);
    expect(() => JSON.parse(r.stdout), what).not.toThrow();
  }
  return r.code;
}

describe("CLI fuzz", () => {
  it("random option values: exit 0, 1 or 2 quickly, never a stack trace or a NaN result", async () => {
    const cmds = commands();
    const tried: Record<string, Record<string, number>> = {};
    const deadline = Date.now() + 25_000;
    let n = 0;
    while (Date.now() < deadline && n < 120) {
      const name = pick(Object.keys(cmds));
      const c = cmds[name]!;
      const argv = [...c.base()];
      const k = 1 + Math.floor(rng.next() * 2);
      for (let i = 0; i < k; i++) {
        const opt = pick(c.options);
        let value = pick(VALUES);
        // relative paths would land in the working copy: put them in a temp folder
        if ((opt === "out" || opt === "data") && !value.startsWith("/")) value = join(tmp(), value);
        argv.push(`--${opt}`, value);
      }
      argv.push("--json");
      const code = await check(argv, 60_000);
      tried[name] ??= {};
      tried[name][`exit${code}`] = (tried[name][`exit${code}`] ?? 0) + 1;
      n++;
    }
    console.log(
      `CLI option fuzz (seed ${SEED}): ${n} runs; by command and exit code ${JSON.stringify(tried)}`,
    );
    expect(n).toBeGreaterThan(10);
  }, 120_000);

  it("corrupted anllm.json: the model loads or the error names the file", async () => {
    const src = join(run, "checkpoints", "step-00000004");
    const original = readFileSync(join(src, "anllm.json"), "utf8");
    const tried: Record<string, number> = {};
    const deadline = Date.now() + 10_000;
    let n = 0;
    while (Date.now() < deadline && n < 60) {
      const dir = join(tmp(), "m");
      cpSync(src, dir, { recursive: true });
      let text = original;
      const kind = pick(["flip", "cut", "edit"]);
      if (kind === "flip") {
        const b = Buffer.from(text);
        b[Math.floor(rng.next() * b.length)]! ^= 1 << Math.floor(rng.next() * 8);
        text = b.toString("latin1");
      } else if (kind === "cut") text = text.slice(0, Math.floor(rng.next() * text.length));
      else {
        const j = JSON.parse(original);
        const field = pick(["tokenizer", "anchor", "anchor.ids", "anchor.mode", "acInit"]);
        const value = pick([null, 5, "x", [], {}, [99999], [-1], ["a"], { kind: "llama2" }, "ep"]);
        const [a, b] = field.split(".");
        if (b && typeof j[a!] === "object" && j[a!] !== null) j[a!][b] = value;
        else j[a!] = value;
        text = JSON.stringify(j);
      }
      writeFileSync(join(dir, "anllm.json"), text);
      const r = await cli(
        "generate",
        "--model",
        dir,
        "--prompt-ids",
        "1,5",
        "--max-new-tokens",
        "2",
        "--json",
      );
      expect([0, 1], text).toContain(r.code);
      if (r.code === 1) expect(r.stderr, text).toContain(join(dir, "anllm.json"));
      expect(r.stderr, text).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
      tried[`${kind}:exit${r.code}`] = (tried[`${kind}:exit${r.code}`] ?? 0) + 1;
      rmSync(dir, { recursive: true, force: true });
      n++;
    }
    console.log(`anllm.json fuzz (seed ${SEED}): ${n} cases ${JSON.stringify(tried)}`);
    expect(n).toBeGreaterThan(5);
  }, 60_000);

  it("corrupted newest checkpoint: --resume continues or names a file of the run", async () => {
    const tried: Record<string, number> = {};
    const deadline = Date.now() + 15_000;
    let n = 0;
    while (Date.now() < deadline && n < 40) {
      const out = join(tmp(), "r");
      cpSync(run, out, { recursive: true });
      const ckpt = join(out, "checkpoints", "step-00000004");
      const file = pick(readdirSync(ckpt));
      const path = join(ckpt, file);
      const kind = pick(["flip", "cut", "delete", "latest"]);
      if (kind === "flip") {
        const b = readFileSync(path);
        b[Math.floor(rng.next() * b.length)]! ^= 1 << Math.floor(rng.next() * 8);
        writeFileSync(path, b);
      } else if (kind === "cut")
        truncateSync(path, Math.floor(rng.next() * readFileSync(path).length));
      else if (kind === "delete") rmSync(path);
      else
        writeFileSync(
          join(out, "checkpoints", "latest.json"),
          pick(["{", '{"step": 4, "dir": "step-9"}', "[]", ""]),
        );
      const r = await cli("train", "--resume", "--steps", "5", "--out", out, "--json");
      expect([0, 1], `${kind} ${file}`).toContain(r.code);
      if (r.code === 1) expect(r.stderr, `${kind} ${file}`).toContain(out);
      expect(r.stderr, `${kind} ${file}`).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
      if (r.code === 0) expect(r.stdout).not.toMatch(/\bNaN\b|\bInfinity\b/);
      const key = `${kind === "latest" ? "latest.json" : `${kind} ${file}`}:exit${r.code}`;
      tried[key] = (tried[key] ?? 0) + 1;
      rmSync(out, { recursive: true, force: true });
      n++;
    }
    console.log(`checkpoint fuzz (seed ${SEED}): ${n} cases ${JSON.stringify(tried)}`);
    expect(n).toBeGreaterThan(5);
  }, 60_000);
});
