// API reference: runs typedoc + typedoc-plugin-markdown over each workspace package's TypeScript
// sources (the "@anllm/source" entry of every export) and writes Markdown to api/<package>/.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Application, type TypeDocOptions } from "typedoc";

/** One package to document: folder, npm name and its source entry points. */
export interface ApiPackage {
  readonly dir: string;
  readonly slug: string;
  readonly name: string;
  readonly entryPoints: string[];
}

/** Packages of the workspace whose exports name source files ("@anllm/source") that exist. */
export function findApiPackages(repoRoot: string): ApiPackage[] {
  const out: ApiPackage[] = [];
  for (const group of ["packages", "apps"]) {
    const base = join(repoRoot, group);
    if (!existsSync(base)) continue;
    for (const slug of readdirSync(base).sort()) {
      const dir = join(base, slug);
      const pj = join(dir, "package.json");
      if (!existsSync(pj)) continue;
      const pkg = JSON.parse(readFileSync(pj, "utf8")) as { name: string; exports?: unknown };
      const exportsMap = (pkg.exports ?? {}) as Record<string, Record<string, string> | string>;
      const entryPoints = Object.values(exportsMap)
        .map((e) => (typeof e === "object" ? e["@anllm/source"] : undefined))
        .filter((p): p is string => typeof p === "string")
        .map((p) => join(dir, p))
        .filter((p) => existsSync(p));
      if (entryPoints.length > 0) out.push({ dir, slug, name: pkg.name, entryPoints });
    }
  }
  return out;
}

/**
 * Makes typedoc's Markdown safe for VitePress, which compiles every page as a Vue template: a raw
 * `<` in prose (e.g. "the token <AC>") would open an HTML element, and `{{ }}` would interpolate.
 * Outside fenced code and inline code, escapes `<` as `\<`; wraps the page in a `v-pre` container.
 */
export function vueSafeMarkdown(md: string): string {
  const out: string[] = [];
  let fenced = false;
  for (const line of md.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced || /^\s*(```|~~~)/.test(line)) {
      out.push(line);
      continue;
    }
    // Split on inline code spans; escape only the prose between them.
    const parts = line.split(/(`[^`]*`)/);
    out.push(parts.map((p, k) => (k % 2 === 1 ? p : p.replace(/(^|[^\\])</g, "$1\\<"))).join(""));
  }
  return `::: v-pre\n${out.join("\n")}\n:::\n`;
}

/**
 * Gives every heading of a page a unique explicit id (`### name {#id}`), which VitePress requires:
 * typedoc's custom ids (useCustomAnchors) are kept where first used (links point at them), a
 * repeated one (two classes' `message`) is replaced, and headings without one (parameters) get a
 * slug that collides with none of them.
 */
export function uniqueHeadingIds(md: string): string {
  const heading = /^(#{1,6} )(.*?)(?: \{#([^}]+)\})?$/;
  const lines = md.split("\n");
  const reserved = new Set<string>();
  const owner = new Map<string, number>();
  lines.forEach((l, k) => {
    const id = l.match(heading)?.[3];
    if (id !== undefined && !owner.has(id)) {
      owner.set(id, k);
      reserved.add(id);
    }
  });
  const used = new Set<string>();
  let fenced = false;
  return lines
    .map((l, k) => {
      if (/^\s*(```|~~~)/.test(l)) fenced = !fenced;
      const m = fenced ? null : l.match(heading);
      if (!m) return l;
      const [, hashes, text, id] = m as unknown as [string, string, string, string | undefined];
      if (id !== undefined && owner.get(id) === k) {
        used.add(id);
        return l;
      }
      const base =
        text
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, "-")
          .replace(/^-|-$/g, "") || "section";
      let slug = base;
      for (let n = 1; reserved.has(slug) || used.has(slug); n++) slug = `${base}-${n}`;
      used.add(slug);
      return `${hashes}${text} {#${slug}}`;
    })
    .join("\n");
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".md"))
    .map((e) => join(e.parentPath, e.name));
}

async function documentPackage(p: ApiPackage, outDir: string): Promise<boolean> {
  const options: Partial<TypeDocOptions> & Record<string, unknown> = {
    name: p.name,
    entryPoints: p.entryPoints,
    entryPointStrategy: "resolve",
    tsconfig: join(p.dir, "tsconfig.json"),
    plugin: ["typedoc-plugin-markdown"],
    out: outDir,
    readme: "none",
    entryFileName: "index",
    outputFileStrategy: "modules",
    useCustomAnchors: true,
    excludePrivate: true,
    excludeInternal: true,
    exclude: ["**/*.test.ts"],
    hidePageHeader: true,
    hideBreadcrumbs: false,
    useCodeBlocks: true,
    sanitizeComments: true,
    disableSources: true,
    logLevel: "Error",
    skipErrorChecking: true,
  };
  const app = await Application.bootstrapWithPlugins(options);
  const project = await app.convert();
  if (!project) return false;
  await app.outputs.writeOutputs(project);
  for (const file of markdownFiles(outDir)) {
    writeFileSync(file, vueSafeMarkdown(uniqueHeadingIds(readFileSync(file, "utf8"))));
  }
  return true;
}

/** Generates api/<slug>/ for every package and api/index.md linking them; returns the slugs. */
export async function generateApi(repoRoot: string, docsRoot: string): Promise<string[]> {
  const apiDir = join(docsRoot, "api");
  rmSync(apiDir, { recursive: true, force: true });
  const done: ApiPackage[] = [];
  for (const p of findApiPackages(repoRoot)) {
    const t0 = Date.now();
    const ok = await documentPackage(p, join(apiDir, p.slug));
    console.log(
      `api: ${p.name} (${p.entryPoints.map((e) => relative(p.dir, e)).join(", ")}) ${ok ? "ok" : "FAILED"} in ${Date.now() - t0} ms`,
    );
    if (!ok)
      throw new Error(`typedoc failed for ${p.name}; run the build with logLevel Info to see why`);
    done.push(p);
  }
  const rows = done.map(
    (p) =>
      `| [${p.name}](./${p.slug}/) | \`${p.entryPoints.map((e) => relative(p.dir, e)).join("`, `")}\` |`,
  );
  writeFileSync(
    join(apiDir, "index.md"),
    [
      "# API reference",
      "",
      "Generated at build time by typedoc + typedoc-plugin-markdown from each package's TypeScript",
      "sources (the `@anllm/source` entry of every export). Guides with examples: see *Packages* in the sidebar.",
      "",
      "| package | source entry points |",
      "|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
  return done.map((p) => p.slug);
}
