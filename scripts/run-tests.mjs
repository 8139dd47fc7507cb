// The project's full check, as CI runs it: lint, typecheck, build, then every package's tests
// (turbo, one package at a time, continuing past failures), and finally one summary line
// "N passed, N failed, N skipped" summed over all packages' vitest JSON reports.
// A package whose test run ends without a report counts as one failure, so a crash is never green.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: "1",
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp",
};

function step(name, cmd, args) {
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: "inherit" });
  const ok = r.status === 0;
  console.log(
    `=== ${name}: ${ok ? "ok" : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return ok;
}

const testPackages = [];
for (const group of ["packages", "apps"]) {
  const base = join(root, group);
  if (!existsSync(base)) continue;
  for (const name of readdirSync(base).sort()) {
    const pj = join(base, name, "package.json");
    if (!existsSync(pj)) continue;
    const pkg = JSON.parse(readFileSync(pj, "utf8"));
    if (pkg.scripts?.test) testPackages.push({ name: pkg.name, dir: join(base, name) });
  }
}
for (const p of testPackages) rmSync(join(p.dir, "test-results.json"), { force: true });

const failedSteps = [];
if (!step("lint", "pnpm", ["lint"])) failedSteps.push("lint");
if (!step("typecheck", "pnpm", ["typecheck"])) failedSteps.push("typecheck");
if (!step("build", "pnpm", ["build"])) failedSteps.push("build");
step("test", "pnpm", ["exec", "turbo", "run", "test", "--concurrency=1", "--continue", "--force"]);

let passed = 0;
let failed = 0;
let skipped = 0;
// Failing tests are listed again at the very end so that a log's tail names what broke.
const failures = [];
console.log("\nper package:");
for (const p of testPackages) {
  const file = join(p.dir, "test-results.json");
  if (!existsSync(file)) {
    failed += 1;
    console.log(
      `  ${p.name}: no test report (the test run crashed or did not start): counted as 1 failure`,
    );
    continue;
  }
  const r = JSON.parse(readFileSync(file, "utf8"));
  // A test file that fails to load has no test entries; count it as a failure.
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === "failed" && (f.assertionResults ?? []).length === 0,
  ).length;
  for (const f of r.testResults ?? []) {
    const rel = f.name ? f.name.slice(p.dir.length + 1) : "?";
    if (f.status === "failed" && (f.assertionResults ?? []).length === 0) {
      failures.push(`${p.name} ${rel}: ${firstLines(f.message)}`);
    }
    for (const a of f.assertionResults ?? []) {
      if (a.status === "failed") {
        failures.push(`${p.name} ${rel} > ${a.fullName}: ${firstLines(a.failureMessages?.[0])}`);
      }
    }
  }
  const pkgFailed = r.numFailedTests + brokenFiles;
  const pkgSkipped = r.numPendingTests + r.numTodoTests;
  passed += r.numPassedTests;
  failed += pkgFailed;
  skipped += pkgSkipped;
  console.log(
    `  ${p.name}: ${r.numPassedTests} passed, ${pkgFailed} failed, ${pkgSkipped} skipped`,
  );
}
if (failures.length > 0)
  console.log(`\nfailed tests:\n${failures.map((f) => `  ${f}`).join("\n")}`);
if (failedSteps.length > 0) console.log(`\nfailed steps: ${failedSteps.join(", ")}`);
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || failedSteps.length > 0 ? 1 : 0);

/** The first three lines of a failure message, without ANSI colours. */
function firstLines(message) {
  if (!message) return "(no message)";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escapes
  const plain = String(message).replace(/\u001b\[[0-9;]*m/g, "");
  return plain.split("\n").slice(0, 3).join(" | ");
}
