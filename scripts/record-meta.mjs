// What every recorded result file (bench-record.mjs, demo-record.mjs) says about where it came
// from, and its atomic write: the JSON found in a command's stdout, the commit, whether tracked
// files were modified, the machine, the time; written to <dir>/<prefix><UTC date>-<HHMM>.json.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

/** The last JSON object in `stdout`: one line, or a pretty-printed one from a line starting with "{". */
export function lastJson(stdout) {
  const lines = stdout.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith("{")) continue;
    for (const text of [lines.slice(i).join("\n"), lines[i]]) {
      try {
        return JSON.parse(text);
      } catch {
        // a log line that starts with "{"
      }
    }
  }
  return null;
}

/** Commit, dirty flag, machine and date of a record made now in the repository at `cwd`. */
export function recordMeta(cwd) {
  const git = (a) => {
    try {
      return execFileSync("git", a, { cwd, encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  const now = new Date();
  return {
    stamp: now.toISOString().slice(0, 16).replace("T", "-").replace(":", ""),
    commit: git(["rev-parse", "HEAD"]),
    dirty: git(["status", "--porcelain", "--untracked-files=no"]) !== "",
    machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    date: now.toISOString(),
  };
}

/** Writes `record` as <dir>/<name> atomically (temp file + rename); returns the path. */
export function writeRecord(dir, name, record) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}
