// Produces the results page's data: the paper's Figure 3 at small scale. Runs each command below
// through the `anllm` CLI (from the repository root, exactly as a user would): continual
// pre-training of the shipped full-attention base (apps/cli/models/base-small) with AC anchors,
// with EP anchors and with full attention (same data, seed and schedule), perplexity vs context
// length of the base and the three continued models, and the K/V cache experiment of AC and EP;
// saves what the CLI wrote into apps/docs/data/ and records every file with the command that
// produced it, the date and the commit in data/manifest.json. Run: pnpm --filter @anllm/docs
// results (about half an hour on a 2-core CPU with lavapipe). With file names as arguments (e.g.
// `results eval-ppl-base.json`) only those jobs are re-run and their manifest entries replaced.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ManifestEntry } from "../lib/results";

const docsRoot = new URL("..", import.meta.url).pathname;
const repoRoot = join(docsRoot, "..", "..");
const dataDir = join(docsRoot, "data");
const BASE = "apps/cli/models/base-small";
/**
 * The continual run of `anllm demo` (packed rows of 256 tokens, constant lr after warm-up, all
 * documents in one shuffle block as in the base's recipe).
 */
const CONTINUE = [
  "--model",
  BASE,
  "--packing",
  "--seq-len",
  "256",
  "--batch-size",
  "8",
  "--steps",
  "60",
  "--lr",
  "3e-4",
  "--schedule",
  "constant",
  "--warmup",
  "10",
  "--seed",
  "34",
  "--shuffle-block",
  "8192",
];
/** Perplexity as the demo measures it: plain held-out text, 24 windows per length, stride 128. */
const PPL = ["--lengths", "64,128,256", "--stride", "128", "--max-windows", "24", "--plain-text"];

/** One CLI run: its arguments, where its --json stdout goes, and run files to copy. */
interface Job {
  readonly args: string[];
  readonly json: string;
  readonly copy?: ReadonlyArray<readonly [from: string, to: string]>;
  readonly note: string;
  /** device of the run (default: the CLI's, WebGPU) */
  readonly device?: "cpu" | "webgpu";
}

const MODES = ["ac", "ep", "none"] as const;
const JOBS: Job[] = [
  ...MODES.map((anchor) => ({
    args: [
      "train",
      ...CONTINUE,
      "--anchor",
      anchor,
      "--out",
      `runs/docs-continual-${anchor}`,
      "--json",
    ],
    json: `continual-${anchor}.json`,
    copy: [
      [`runs/docs-continual-${anchor}/metrics.jsonl`, `continual-${anchor}.metrics.jsonl`],
    ] as const,
    note: `continual pre-training of the base, anchor ${anchor}`,
  })),
  {
    args: ["eval", "ppl", "--model", BASE, ...PPL, "--attention", "full", "--json"],
    json: "eval-ppl-base.json",
    note: "perplexity vs context length of the base (full attention)",
  },
  ...MODES.map((anchor) => ({
    args: ["eval", "ppl", "--model", `runs/docs-continual-${anchor}`, ...PPL].concat(
      // the model continued with full attention has no anchors: full attention only
      ["--attention", anchor === "none" ? "full" : "both", "--json"],
    ),
    json: `eval-ppl-continual-${anchor}.json`,
    note: `perplexity vs context length after continual pre-training, anchor ${anchor}`,
  })),
  ...(["ac", "ep"] as const).map((anchor) => ({
    args: [
      "eval",
      "cache",
      "--model",
      `runs/docs-continual-${anchor}`,
      "--prompt-lengths",
      "64,128,256,384",
      "--max-new-tokens",
      "16",
      "--json",
    ],
    json: `eval-cache-${anchor}.json`,
    note: `K/V cache reduction and speed-up vs prompt length, ${anchor} model`,
  })),
];

/**
 * KV-cache policies side by side (docs: guide/cache-policies.md): the recall task's data (4 to 64
 * facts a document, 80% of the sentences restating an earlier fact) and its tokenizer (one token a
 * key, one a value), a full-attention and an AnLLM-AC and -EP small model trained on it from
 * scratch with the same data, seed and schedule and the loss on the keys and values (each fact's
 * second pair teaches the induction circuit the lookup needs, the restated values the lookup), then
 * every policy at 512/1024/2048-token prompts: C, T, perplexity through the cache and recall at
 * distances the training rows cover (16 to 192 tokens), under budgets of 32-64 rows so that the
 * distances fall inside and outside what each training-free policy keeps. 600 steps of 8 x 256 tokens (about 9
 * minutes here): with each pair said twice the full-attention model looks facts up after a few
 * hundred steps (guide/cache-policies.md).
 */
const RECALL_PRESET = "small";
/** the recall tokenizer's keys (` Aa`..` Zz`) and values (`10`..`99`): the predictions scored */
const RECALL_SCORED_IDS = "100-865";
const RECALL_TRAIN = [
  ...["--model", RECALL_PRESET, "--tokenizer", "runs/recall-tokenizer.json"],
  ...["--data", "runs/recall-train.jsonl", "--packing", "--loss-ids", RECALL_SCORED_IDS],
  ...["--steps", "600", "--batch-size", "8", "--seq-len", "256", "--lr", "3e-3"],
  ...["--schedule", "constant", "--warmup", "50", "--seed", "34"],
  ...["--checkpoint-every", "200", "--json"],
];
const POLICY_EVAL = [
  ...["--prompt-lengths", "512,1024,2048", "--distances", "16,64,192"],
  ...["--max-new-tokens", "8", "--chunk-size", "16", "--extend-positions", "--json"],
];
/**
 * The training-free policies under budgets below the longer distances asked (32-64 rows); the
 * sink keeps StreamingLLM's positions within the cache, which the prompts past the trained length
 * need.
 */
const TRAINING_FREE =
  "full,sink:sink=4,window=28,positions=cache," +
  "sepllm:initial=4,window=28,budget=64,h2o:budget=64,recent=28";
const RECALL_ANCHORS = ["none", "ac", "ep"] as const;
const POLICY_JOBS: Job[] = [
  {
    args: ["data", "recall", "--out", "runs/recall-train.jsonl", "--documents", "20000"].concat(
      ["--sentences", "64", "--min-sentences", "4", "--max-run", "1", "--repeat-rate", "0.8"],
      ["--seed", "1", "--tokenizer-out", "runs/recall-tokenizer.json", "--json"],
    ),
    json: "recall-data.json",
    note: "recall task: training documents",
    device: "cpu",
  },
  ...RECALL_ANCHORS.map(
    (anchor): Job => ({
      args: ["train", ...RECALL_TRAIN, "--anchor", anchor, "--out", `runs/recall-${anchor}`],
      json: `train-recall-${anchor}.json`,
      note: `recall task: ${RECALL_PRESET} model, anchor ${anchor}`,
      device: "webgpu",
    }),
  ),
  {
    args: ["eval", "cache", "--model", "runs/recall-none", "--policy", TRAINING_FREE].concat(
      POLICY_EVAL,
    ),
    json: "eval-policies-none.json",
    note: "cache policies on the full-attention recall model (training-free policies)",
    device: "webgpu",
  },
  ...(["ac", "ep"] as const).map(
    (anchor): Job => ({
      args: ["eval", "cache", "--model", `runs/recall-${anchor}`, "--policy", "anchor,full"].concat(
        POLICY_EVAL,
      ),
      json: `eval-policies-${anchor}.json`,
      note: `cache policies on the AnLLM-${anchor.toUpperCase()} recall model (anchor cache next to its full cache)`,
      device: "webgpu",
    }),
  ),
];
JOBS.push(...POLICY_JOBS);

const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
  cwd: repoRoot,
  encoding: "utf8",
}).trim();
mkdirSync(dataDir, { recursive: true });
// the jobs write their scratch files under runs/ (absent in a fresh clone)
mkdirSync(join(repoRoot, "runs"), { recursive: true });
const only = process.argv.slice(2);
const manifestPath = join(dataDir, "manifest.json");
const jobs = only.length === 0 ? JOBS : JOBS.filter((j) => only.includes(j.json));
if (jobs.length < only.length) throw new Error(`unknown result files in ${only.join(", ")}`);
const rerun = new Set(jobs.flatMap((j) => [j.json, ...(j.copy ?? []).map(([, to]) => to)]));
const manifest: ManifestEntry[] =
  only.length > 0 && existsSync(manifestPath)
    ? (JSON.parse(readFileSync(manifestPath, "utf8")) as ManifestEntry[]).filter(
        (m) => !rerun.has(m.file),
      )
    : [];
for (const job of jobs) {
  // jobs that name a device run on it; the others on the CLI's default (WebGPU)
  const device = job.device;
  const command = `${device ? `ANLLM_DEVICE=${device} ` : ""}pnpm anllm ${job.args.join(" ")}`;
  console.log(`results: ${command}`);
  // a training job's --out is this script's own scratch run folder: start it afresh
  const out = job.args[0] === "train" ? job.args[job.args.indexOf("--out") + 1] : undefined;
  if (out?.startsWith("runs/docs-")) rmSync(join(repoRoot, out), { recursive: true, force: true });
  const r = spawnSync("pnpm", ["anllm", ...job.args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: device ? { ...process.env, ANLLM_DEVICE: device } : process.env,
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${command} exited ${r.status}`);
  // pnpm prints the script line first; the CLI's JSON object is the rest of stdout.
  const json = r.stdout.slice(r.stdout.indexOf("{"));
  JSON.parse(json); // must be one JSON object
  writeFileSync(join(dataDir, job.json), json);
  const date = new Date().toISOString();
  manifest.push({ file: job.json, command, date, commit, note: job.note });
  for (const [from, to] of job.copy ?? []) {
    copyFileSync(join(repoRoot, from), join(dataDir, to));
    manifest.push({ file: to, command: `${command}  (its ${from})`, date, commit, note: job.note });
  }
}
const order = JOBS.flatMap((j) => [j.json, ...(j.copy ?? []).map(([, to]) => to)]);
manifest.sort((a, b) => order.indexOf(a.file) - order.indexOf(b.file));
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`results: wrote ${manifest.length} files to ${dataDir}`);
