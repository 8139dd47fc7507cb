// Runs every example of the package guides (packages/*.md, each ```ts block a whole program) in
// one Node process with the "@anllm/source" condition, so the documented code is known to work.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CodeBlock, tsBlocks } from "../lib/code-blocks";

const docsRoot = new URL("..", import.meta.url).pathname;
const workDir = join(docsRoot, ".examples");
const pages = readdirSync(join(docsRoot, "packages"))
  .filter((f) => f.endsWith(".md"))
  .sort();
const blocks: CodeBlock[] = pages.flatMap((f) =>
  tsBlocks(`packages/${f}`, readFileSync(join(docsRoot, "packages", f), "utf8")),
);
const fileOf = (b: CodeBlock) => `${b.page.replace(/[/.]/g, "-")}-${b.line}.ts`;

interface Outcome {
  file: string;
  ok: boolean;
  ms: number;
  error?: string;
}

describe("package guide examples", () => {
  const outcomes = new Map<string, Outcome>();

  beforeAll(() => {
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    for (const b of blocks)
      writeFileSync(join(workDir, fileOf(b)), `// ${b.page}:${b.line}\n${b.code}`);
    // Run the examples one after the other in one process; each result is one JSON line on fd 3.
    const files = blocks.map((b) => join(workDir, fileOf(b)));
    const runner = join(docsRoot, "test", "run-examples.ts");
    const r = spawnSync(
      process.execPath,
      ["--conditions=@anllm/source", "--import", "tsx", runner, ...files],
      {
        cwd: workDir,
        encoding: "utf8",
        timeout: 240_000,
        env: { ...process.env, ANLLM_DEVICE: "cpu" },
        stdio: ["ignore", "pipe", "pipe", "pipe"],
      },
    );
    const fd3 = (r.output[3] ?? "").toString();
    for (const line of fd3.split("\n").filter(Boolean)) {
      const o = JSON.parse(line) as Outcome;
      outcomes.set(basename(o.file), o);
    }
    if (outcomes.size < blocks.length) {
      console.error(`examples runner: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    }
  }, 300_000);

  it("has examples on every package page", () => {
    for (const page of pages)
      expect(
        blocks.some((b) => b.page === `packages/${page}`),
        page,
      ).toBe(true);
  });

  it.each(blocks.map((b) => [`${b.page}:${b.line}`, b] as const))("%s runs", (_name, b) => {
    const o = outcomes.get(fileOf(b));
    expect(o, "the example did not report (the runner crashed?)").toBeDefined();
    expect(o!.error ?? "").toBe("");
    expect(o!.ok).toBe(true);
  });
});
