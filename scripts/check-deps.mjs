// Enforces the package dependency DAG: each workspace package may depend only on the @anllm
// packages listed for it below, anchor-mask depends on nothing at all, no cycles, apps are never
// imported, and every @anllm import in src/ is a declared dependency. Inside each package: no
// runtime import cycle between the files of src/, and no `export *` in an entry file (src/index.ts
// and every file named by package.json "exports"), so each public name is listed once, by hand.
// Browser entries (BROWSER_ENTRIES below) load no `node:` module and no Node-only package.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

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

// Static imports and re-exports of one file, as { spec, line, typeOnly, star }. Type-only forms
// (`import type`, `export type`, and named lists whose every name carries `type`) are not counted
// as cycle edges. (Under verbatimModuleSyntax `import { type X }` still leaves an empty
// `import {} from` that loads the module; biome's useImportType rewrites it to `import type`.)
// Dynamic `import()` is lazy and is not counted either.
function moduleEdges(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges = [];
  for (const st of sf.statements) {
    const isImport = ts.isImportDeclaration(st);
    if (!isImport && !ts.isExportDeclaration(st)) continue;
    if (!st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    let typeOnly = false;
    let star = false;
    if (isImport) {
      const clause = st.importClause;
      const named = clause?.namedBindings;
      typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly)));
    } else {
      const clause = st.exportClause;
      star = clause === undefined || ts.isNamespaceExport(clause);
      typeOnly =
        st.isTypeOnly ||
        (clause !== undefined &&
          ts.isNamedExports(clause) &&
          clause.elements.length > 0 &&
          clause.elements.every((e) => e.isTypeOnly));
    }
    const line = sf.getLineAndCharacterOfPosition(st.getStart(sf)).line + 1;
    edges.push({ spec: st.moduleSpecifier.text, line, typeOnly, star });
  }
  return edges;
}

// Resolves a relative specifier the way the bundler resolution of tsconfig does for our sources.
function resolveRelative(from, spec) {
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(m?js)$/, "");
  for (const c of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.tsx`, join(base, "index.ts")])
    if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

// Entry files of a package: src/index.ts plus the source file of every package.json export.
function entryFiles(dir, pkg) {
  const out = new Set();
  const index = join(dir, "src", "index.ts");
  if (existsSync(index)) out.add(index);
  const walk = (v) => {
    if (typeof v === "string") {
      if (/\.(m?ts|tsx)$/.test(v) && !v.endsWith(".d.ts")) out.add(resolve(dir, v));
    } else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
  };
  if (pkg.exports && typeof pkg.exports === "object")
    for (const [key, v] of Object.entries(pkg.exports)) if (key !== "./package.json") walk(v);
  return [...out].filter((f) => existsSync(f));
}

// File-level runtime import cycles inside one package's src/ (depth-first search with colours;
// each cycle is reported once, from its lexicographically first file).
function checkPackageFiles(dir, pkg) {
  const src = join(dir, "src");
  if (!existsSync(src)) return;
  const fileGraph = new Map();
  for (const file of sourceFiles(src)) {
    if (!/\.(m?ts|tsx)$/.test(file)) continue;
    const text = readFileSync(file, "utf8");
    const edges = moduleEdges(file, text);
    const next = [];
    for (const e of edges) {
      if (e.typeOnly || !e.spec.startsWith(".")) continue;
      const target = resolveRelative(file, e.spec);
      if (target?.startsWith(src)) next.push(target);
    }
    fileGraph.set(file, [...new Set(next)]);
  }
  for (const entry of entryFiles(dir, pkg)) {
    for (const e of moduleEdges(entry, readFileSync(entry, "utf8"))) {
      if (!e.star) continue;
      errors.push(
        `${relative(root, entry)}:${e.line}: \`export *\` from "${e.spec}" in a package entry file; list the exported names explicitly`,
      );
    }
  }
  const colour = new Map();
  const seen = new Set();
  const stack = [];
  function dfs(file) {
    colour.set(file, "active");
    stack.push(file);
    for (const d of fileGraph.get(file) ?? []) {
      if (colour.get(d) === "active") {
        const cycle = stack.slice(stack.indexOf(d));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        const key = rotated.join("|");
        if (!seen.has(key)) {
          seen.add(key);
          const names = [...rotated, rotated[0]].map((f) => relative(root, f));
          errors.push(`${pkg.name}: runtime import cycle: ${names.join(" -> ")}`);
        }
      } else if (!colour.has(d)) dfs(d);
    }
    stack.pop();
    colour.set(file, "done");
  }
  for (const file of [...fileGraph.keys()].sort()) if (!colour.has(file)) dfs(file);
}

for (const dir of workspaceDirs()) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (!APPS.includes(pkg.name)) checkPackageFiles(dir, pkg);
}

// Browser entries: these package entry points (and everything they load at runtime, followed
// through relative imports and other @anllm packages' entries) must import no Node built-in
// (`node:*`) and no Node-only package, so a bundler can ship them to a web page. File-system code
// lives in each package's `/node` subpath.
const BROWSER_ENTRIES = {
  "@anllm/anchor-mask": ["."],
  "@anllm/tensor": ["."],
  "@anllm/llama2-model": ["."],
  "@anllm/trainer": ["."],
  "@anllm/evaluator": ["./scoring"],
  "@anllm/redpajama-loader": ["./text"],
};
const NODE_ONLY_PACKAGES = ["webgpu", "yauzl", "cli-progress", "@huggingface/tokenizers"];
const pkgDirs = new Map();
for (const dir of workspaceDirs()) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  pkgDirs.set(pkg.name, { dir, pkg });
}

// The source file of export `sub` ("." or "./x") of workspace package `name` (@anllm/source).
function exportSource(name, sub) {
  const entry = pkgDirs.get(name);
  const target = entry?.pkg.exports?.[sub];
  const src = typeof target === "object" ? target["@anllm/source"] : undefined;
  return src ? resolve(entry.dir, src) : undefined;
}

// Runtime (non-type-only) static imports reachable from `start`: returns the first chain that
// reaches a Node built-in or Node-only package, per offending module.
function nodeImportsFrom(start) {
  const found = [];
  const seen = new Set([start]);
  const queue = [[start, [start]]];
  while (queue.length > 0) {
    const [file, chain] = queue.shift();
    for (const e of moduleEdges(file, readFileSync(file, "utf8"))) {
      if (e.typeOnly) continue;
      const bare = e.spec.startsWith("@")
        ? e.spec.split("/").slice(0, 2).join("/")
        : e.spec.split("/")[0];
      if (e.spec.startsWith("node:") || NODE_ONLY_PACKAGES.includes(bare)) {
        found.push(
          `${[...chain.map((f) => relative(root, f)), e.spec].join(" -> ")} (line ${e.line})`,
        );
        continue;
      }
      let next;
      if (e.spec.startsWith(".")) next = resolveRelative(file, e.spec);
      else if (pkgDirs.has(bare) && bare.startsWith("@anllm/")) {
        const sub = e.spec === bare ? "." : `.${e.spec.slice(bare.length)}`;
        next = exportSource(bare, sub);
      }
      if (next && !seen.has(next)) {
        seen.add(next);
        queue.push([next, [...chain, next]]);
      }
    }
  }
  return found;
}

let browserEntries = 0;
for (const [name, subs] of Object.entries(BROWSER_ENTRIES)) {
  for (const sub of subs) {
    const file = exportSource(name, sub);
    if (!file || !existsSync(file)) {
      errors.push(`${name}: browser entry "${sub}" is not an export with an @anllm/source file`);
      continue;
    }
    browserEntries++;
    for (const chain of nodeImportsFrom(file))
      errors.push(`${name} browser entry "${sub}" imports a Node-only module: ${chain}`);
  }
}

// Package-level cycle check (depth-first search with colours).
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
console.log(
  `check-deps: ${graph.size} packages, dependency direction OK, no file-level import cycle, no \`export *\` in package entry files, ${browserEntries} browser entries import no Node-only module`,
);
