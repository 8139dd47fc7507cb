// Runs one package's benchmark and commits-ready records its JSON: `node scripts/bench-record.mjs
// <package-dir> [bench args...]` runs `pnpm --filter <package> bench <args>` and writes
// `<package-dir>/bench/results/<UTC date>-<HHMM>.json` holding the command, the commit, the
// machine and the adapter next to the benchmark's own JSON (its JSON on stdout), so
// README figures can quote a committed file. Writes atomically; exits with the bench's status.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { lastJson, recordMeta, writeRecord } from "./record-meta.mjs";

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
const result = lastJson(r.stdout);
if (result === null) {
  console.error(`bench-record: ${command} printed no JSON line on stdout`);
  process.exit(1);
}
const { stamp, commit, dirty, machine, date } = recordMeta(pkgDir);
const record = {
  command,
  commit,
  dirty,
  machine,
  adapter: result.device ?? result.adapter ?? "none (CPU only)",
  date,
  result,
};
const file = writeRecord(join(pkgDir, "bench", "results"), `${stamp}.json`, record);
console.error(`bench-record: wrote ${file}`);
