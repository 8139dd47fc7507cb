// Runs README command 1 and records it: `node scripts/demo-record.mjs [demo args...]` runs
// `bash scripts/demo.sh --json [args]` (setup, install, `anllm demo`), times the whole command and
// writes `apps/cli/results/demo-continual-<UTC date>-<HHMM>.json` holding the command, the commit,
// whether the tree was dirty, the machine, the adapter, the wall time and the load average before
// and after the run next to the demo's summary (its --json stdout), so README figures can quote a
// committed file. Writes atomically; exits with the demo's status.
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { lastJson, recordMeta, writeRecord } from "./record-meta.mjs";

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
const result = lastJson(r.stdout);
if (result === null) {
  console.error(`demo-record: ${command} printed no JSON on stdout`);
  process.exit(1);
}
const { stamp, commit, dirty, machine, date } = recordMeta(root);
const record = {
  command,
  commit,
  dirty,
  machine,
  adapter: result.device?.name ?? "unknown",
  date,
  wallSeconds,
  loadAverage: { before: loadBefore, after: loadAfter },
  result,
};
const file = writeRecord(
  join(root, "apps", "cli", "results"),
  `demo-continual-${stamp}.json`,
  record,
);
console.error(`demo-record: ${wallSeconds} s; wrote ${file}`);
