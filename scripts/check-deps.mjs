// Enforces the package dependency DAG (architecture.md §2.4): each workspace package may depend
// only on the @anllm packages listed for it below, anchor-mask depends on nothing at all, no
// cycles, apps are never imported, and every @anllm import in src/ is a declared dependency.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ALLOWED = {
  "@anllm/anchor-mask": [],
  "@anllm/tensor": ["@anllm/anchor-mask"],
  "@anllm/redpajama-loader": ["@anllm/anchor-mask", "@anllm/tensor"],
  "@anllm/llama2-model": ["@anllm/tensor", "@anllm/anchor-mask"],
  "@anllm/trainer": ["@anllm/tensor"],
  "@anllm/evaluator": [
    "@anllm/tensor",
    "@anllm/anchor-mask",
    "@anllm/llama2-model",
    "@anllm/redpajama-loader",
  ],
};
const APPS = ["@anllm/cli", "@anllm/docs"];
const root = new URL("..", import.meta.url).pathname;
const errors = [];

function workspaceDirs() {
  const dirs = [];
  for (const group of ["packages", "apps"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      if (existsSync(join(base, name, "package.json"))) dirs.push(join(base, name));
    }
  }
  return dirs;
}

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(m?ts|tsx|vue|m?js)$/.test(name)) out.push(p);
  }
  return out;
}

const graph = new Map();
for (const dir of workspaceDirs()) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const rel = relative(root, dir);
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
  const internal = deps.filter((d) => d.startsWith("@anllm/"));
  graph.set(pkg.name, internal);
  const isApp = APPS.includes(pkg.name);
  if (!isApp && !(pkg.name in ALLOWED)) {
    errors.push(
      `${rel}/package.json: package ${pkg.name} is not in the DAG of scripts/check-deps.mjs`,
    );
    continue;
  }
  for (const d of internal) {
    if (APPS.includes(d))
      errors.push(`${rel}/package.json: depends on app ${d}; apps are never imported`);
    else if (!isApp && !ALLOWED[pkg.name].includes(d))
      errors.push(
        `${rel}/package.json: ${pkg.name} may not depend on ${d} (allowed: ${ALLOWED[pkg.name].join(", ") || "nothing"})`,
      );
  }
  if (pkg.name === "@anllm/anchor-mask" && (pkg.dependencies || pkg.peerDependencies))
    errors.push(
      `${rel}/package.json: anchor-mask must have no dependencies or peerDependencies fields`,
    );
  const src = join(dir, "src");
  if (!existsSync(src)) continue;
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["']([^"']+)["']/g)) {
      const spec = m[1];
      const line = text.slice(0, m.index).split("\n").length;
      const where = `${relative(root, file)}:${line}`;
      if (pkg.name === "@anllm/anchor-mask" && !spec.startsWith("."))
        errors.push(`${where}: anchor-mask imports only relative paths, found "${spec}"`);
      const target = spec.match(/^@anllm\/[^/]+/)?.[0];
      if (target && target !== pkg.name && !internal.includes(target))
        errors.push(
          `${where}: imports ${target}, which ${pkg.name} does not declare as a dependency`,
        );
    }
  }
}

// Cycle check (depth-first search with colours).
const state = new Map();
function visit(name, path) {
  if (state.get(name) === "done") return;
  if (state.get(name) === "active") {
    errors.push(`dependency cycle: ${[...path, name].join(" -> ")}`);
    return;
  }
  state.set(name, "active");
  for (const d of graph.get(name) ?? []) visit(d, [...path, name]);
  state.set(name, "done");
}
for (const name of graph.keys()) visit(name, []);

if (errors.length > 0) {
  console.error(`check-deps: ${errors.length} problem(s):\n  ${errors.join("\n  ")}`);
  process.exit(1);
}
console.log(`check-deps: ${graph.size} packages, dependency direction OK`);
