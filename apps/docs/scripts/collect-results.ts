// Produces the results page's data: runs each command below through the `anllm` CLI (from the
// repository root, exactly as a user would), saves what the CLI wrote into apps/docs/data/, and
// records every file with the command that produced it, the date and the commit in
// data/manifest.json. Run: pnpm --filter @anllm/docs results   (minutes; CPU device, tiny model).
// With file names as arguments (e.g. `results eval-ppl-none.json`) only those jobs are re-run and
// their manifest entries replaced.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ManifestEntry } from "../lib/results";

const docsRoot = new URL("..", import.meta.url).pathname;
const repoRoot = join(docsRoot, "..", "..");
const dataDir = join(docsRoot, "data");
const ENV = { ANLLM_DEVICE: "cpu" };
const TRAIN = ["--model", "tiny", "--steps", "200", "--batch-size", "4", "--seq-len", "128"];

/** The full-attention model has no anchors: only its full-attention perplexity is meaningful. */
function attentionArgs(anchor: string): string[] {
  return ["--attention", anchor === "none" ? "full" : "both", "--json"];
}

/** One CLI run: its arguments, where its --json stdout goes, and run files to copy. */
interface Job {
  readonly args: string[];
  readonly json: string;
  readonly copy?: ReadonlyArray<readonly [from: string, to: string]>;
  readonly note: string;
  /** device of the run (default cpu) */
  readonly device?: "cpu" | "webgpu";
}

const JOBS: Job[] = [
  ...(["ac", "ep", "none"] as const).map((anchor) => ({
    args: ["train", ...TRAIN, "--anchor", anchor, "--out", `runs/docs-train-${anchor}`, "--json"],
    json: `train-${anchor}.json`,
    copy: [[`runs/docs-train-${anchor}/metrics.jsonl`, `train-${anchor}.metrics.jsonl`]] as const,
    note: `training, anchor ${anchor}`,
  })),
  ...(["ac", "none"] as const).map((anchor) => ({
    args: [
      "eval",
      "ppl",
      "--model",
      `runs/docs-train-${anchor}`,
      "--lengths",
      "32,64,128,256",
    ].concat(["--stride", "32", "--max-windows", "16"], attentionArgs(anchor)),
    json: `eval-ppl-${anchor}.json`,
    note: `perplexity vs context length of the ${anchor} model, ${anchor === "none" ? "full attention (it has no anchors)" : "full and anchor attention"}`,
  })),
  {
    args: [
      "eval",
      "cache",
      "--model",
      "runs/docs-train-ac",
      "--prompt-lengths",
      "64,128,256,512",
      // the tiny model has 256 positions: 512 + 16 goes beyond them on purpose (the cache curve)
    ].concat(["--max-new-tokens", "16", "--extend-positions", "--json"]),
    json: "eval-cache-ac.json",
    note: "K/V cache reduction and speed-up vs prompt length, AC model",
  },
];

/**
 * KV-cache policies side by side (docs: guide/cache-policies.md): the recall task's data, a
 * full-attention and an AnLLM-EP small model trained on it (WebGPU, minutes), then every policy
 * at 512/1024/2048-token prompts: C, T, perplexity through the cache and recall by distance.
 */
const RECALL_TRAIN = [
  ...["--model", "small", "--data", "runs/recall-train.jsonl", "--steps", "160"],
  ...["--batch-size", "8", "--seq-len", "256", "--schedule", "cosine", "--warmup", "10"],
  ...["--seed", "34", "--checkpoint-every", "40", "--json"],
];
const POLICY_EVAL = [
  ...["--prompt-lengths", "512,1024,2048", "--distances", "16,64,256,1024,2048"],
  ...["--max-new-tokens", "8", "--chunk-size", "64", "--extend-positions", "--json"],
];
const POLICY_JOBS: Job[] = [
  {
    args: ["data", "recall", "--out", "runs/recall-train.jsonl", "--documents", "4000"].concat([
      "--sentences",
      "40",
      "--seed",
      "1",
      "--json",
    ]),
    json: "recall-data.json",
    note: "recall task: training documents",
  },
  ...(["none", "ep"] as const).map(
    (anchor): Job => ({
      args: ["train", ...RECALL_TRAIN, "--anchor", anchor, "--out", `runs/recall-${anchor}`],
      json: `train-recall-${anchor}.json`,
      note: `recall task: small model, anchor ${anchor}`,
      device: "webgpu",
    }),
  ),
  {
    args: ["eval", "cache", "--model", "runs/recall-none", "--policy"].concat(
      [
        "full,sink:sink=4,window=252,sepllm:initial=4,window=124,budget=256,h2o:budget=256,recent=128",
      ],
      POLICY_EVAL,
    ),
    json: "eval-policies-none.json",
    note: "cache policies on the full-attention recall model (training-free policies)",
    device: "webgpu",
  },
  {
    args: ["eval", "cache", "--model", "runs/recall-ep", "--policy", "anchor,full"].concat(
      POLICY_EVAL,
    ),
    json: "eval-policies-ep.json",
    note: "cache policies on the AnLLM-EP recall model (anchor cache next to its full cache)",
    device: "webgpu",
  },
];
JOBS.push(...POLICY_JOBS);

const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
  cwd: repoRoot,
  encoding: "utf8",
}).trim();
mkdirSync(dataDir, { recursive: true });
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
  const device = job.device ?? "cpu";
  const command = `ANLLM_DEVICE=${device} pnpm anllm ${job.args.join(" ")}`;
  console.log(`results: ${command}`);
  const r = spawnSync("pnpm", ["anllm", ...job.args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, ...ENV, ANLLM_DEVICE: device },
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
