// Runs one package's benchmark and commits-ready records its JSON: `node scripts/bench-record.mjs
// <package-dir> [bench args...]` runs `pnpm --filter <package> bench <args>` and writes
// `<package-dir>/bench/results/<UTC date>-<HHMM>.json` holding the command, the commit, the
// machine and the adapter next to the benchmark's own JSON (its JSON on stdout), so
// README figures can quote a committed file. Writes atomically; exits with the bench's status.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";

const [dir, ...args] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node scripts/bench-record.mjs <package-dir> [bench args...]");
  process.exit(2);
}
const pkgDir = resolve(dir);
const name = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).name;
const command = ["pnpm", "--filter", name, "bench", ...args].join(" ");
const r = spawnSync("pnpm", ["--filter", name, "bench", ...args], {
  cwd: pkgDir,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
  maxBuffer: 256 * 1024 * 1024,
});
if (r.status !== 0) {
  console.error(`bench-record: ${command} failed (exit ${r.status ?? r.signal})`);
  process.exit(r.status ?? 1);
}
// the bench's JSON: one line, or a pretty-printed object from a line starting with "{" to the end
let result = null;
const lines = r.stdout.trim().split("\n");
for (let i = lines.length - 1; i >= 0 && result === null; i--) {
  if (!lines[i].startsWith("{")) continue;
  try {
    result = JSON.parse(lines.slice(i).join("\n"));
  } catch {
    try {
      result = JSON.parse(lines[i]);
    } catch {
      // a log line that starts with "{"
    }
  }
}
if (result === null) {
  console.error(`bench-record: ${command} printed no JSON line on stdout`);
  process.exit(1);
}
const git = (a) => {
  try {
    return execFileSync("git", a, { encoding: "utf8" }).trim();
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
  adapter: result.device ?? result.adapter ?? "none (CPU only)",
  date: now.toISOString(),
  result,
};
const outDir = join(pkgDir, "bench", "results");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${stamp}.json`);
writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.error(`bench-record: wrote ${file}`);
