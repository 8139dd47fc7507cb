// Runs README command 1 and records it: `node scripts/demo-record.mjs [demo args...]` runs
// `bash scripts/demo.sh --json [args]` (setup, install, `anllm demo`), times the whole command and
// writes `apps/cli/results/demo-continual-<UTC date>-<HHMM>.json` holding the command, the commit,
// whether the tree was dirty, the machine, the adapter, the wall time and the load average before
// and after the run next to the demo's summary (its --json stdout), so README figures can quote a
// committed file. Writes atomically; exits with the demo's status.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = ["scripts/demo.sh", "--json", ...process.argv.slice(2)];
const command = ["bash", ...args].join(" ");
const loadBefore = loadavg().map((x) => +x.toFixed(2));
const t0 = performance.now();
const r = spawnSync("bash", args, {
  cwd: root,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
  maxBuffer: 64 * 1024 * 1024,
});
const wallSeconds = +((performance.now() - t0) / 1000).toFixed(1);
const loadAfter = loadavg().map((x) => +x.toFixed(2));
if (r.status !== 0) {
  console.error(`demo-record: ${command} failed (exit ${r.status ?? r.signal})`);
  process.exit(r.status ?? 1);
}
const lines = r.stdout.trim().split("\n");
let result = null;
for (let i = lines.length - 1; i >= 0 && result === null; i--) {
  if (!lines[i].startsWith("{")) continue;
  try {
    result = JSON.parse(lines.slice(i).join("\n"));
  } catch {
    // a log line that starts with "{"
  }
}
if (result === null) {
  console.error(`demo-record: ${command} printed no JSON on stdout`);
  process.exit(1);
}
const git = (a) => {
  try {
    return execFileSync("git", a, { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
};
const now = new Date();
const stamp = now.toISOString().slice(0, 16).replace("T", "-").replace(":", "");
const record = {
  command,
  commit: git(["rev-parse", "HEAD"]),
  dirty: git(["status", "--porcelain", "--untracked-files=no"]) !== "",
  machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  adapter: result.device?.name ?? "unknown",
  date: now.toISOString(),
  wallSeconds,
  loadAverage: { before: loadBefore, after: loadAfter },
  result,
};
const outDir = join(root, "apps", "cli", "results");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `demo-continual-${stamp}.json`);
writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.error(`demo-record: ${wallSeconds} s; wrote ${file}`);
