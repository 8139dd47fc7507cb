// Publishability: build into a staging copy of the package, `pnpm pack` it, `npm install` the
// tarball offline into a scratch project, then import it from Node (ESM) and type-check a TS consumer.
// Staging keeps the test independent of (and safe to run beside) the package's own `pnpm build`.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "anllm-anchor-mask-pack-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const CONSUMER_JS = `
import { buildAnchorMask, markAnchors, epStrategy, AnchorCacheState, formatMask } from "@anllm/anchor-mask";
const flags = markAnchors([1, 5, 6, 29889, 7, 29889, 8], epStrategy([29889]));
const mask = buildAnchorMask(flags);
const state = new AnchorCacheState();
const step = state.append(flags);
console.log(JSON.stringify({ sum: mask.reduce((a, b) => a + b, 0), keep: [...step.keep] }));
console.log(formatMask(mask));
`;

const CONSUMER_TS = `
import { buildAnchorMask, type CacheStep, AnchorCacheState } from "@anllm/anchor-mask";
const mask: Uint8Array = buildAnchorMask([0, 1, 0]);
const step: CacheStep = new AnchorCacheState({ positions: "compacted" }).append([0, 1]);
export const n: number = mask.length + step.keep.length;
`;

describe("pnpm pack -> npm install -> import", () => {
  it("gives a tarball that installs offline and imports in a scratch project", () => {
    // 1. Stage: package.json + README + a fresh build in stage/dist.
    const stage = join(tmp, "stage");
    mkdirSync(stage);
    copyFileSync(join(pkgDir, "package.json"), join(stage, "package.json"));
    copyFileSync(join(pkgDir, "README.md"), join(stage, "README.md"));
    run("pnpm", ["exec", "tsup", "--out-dir", join(stage, "dist")], pkgDir);

    // 2. Pack.
    run("pnpm", ["pack", "--pack-destination", tmp], stage);
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    expect(tgz).toBe("anllm-anchor-mask-0.1.0.tgz");
    const listing = run("tar", ["-tzf", join(tmp, tgz!)], tmp)
      .split("\n")
      .filter(Boolean)
      .sort();
    expect(listing).toContain("package/dist/index.js");
    expect(listing).toContain("package/dist/index.d.ts");
    expect(listing.every((f) => /^package\/(dist\/|package\.json$|README\.md$)/.test(f))).toBe(
      true,
    );

    // 3. Install into a scratch project, offline.
    const consumer = join(tmp, "consumer");
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "scratch", private: true, type: "module" }),
    );
    run(
      "npm",
      [
        "install",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--cache",
        join(tmp, "npm-cache"),
        join(tmp, tgz!),
      ],
      consumer,
    );

    // 4. Import from Node ESM.
    writeFileSync(join(consumer, "main.mjs"), CONSUMER_JS);
    const out = run("node", ["main.mjs"], consumer).split("\n");
    expect(JSON.parse(out[0]!)).toEqual({ sum: 17, keep: [3, 5, 6] });
    expect(out[1]).toBe("  0 1 2 3 4 5 6");

    // 5. Type-check a TS consumer against the shipped .d.ts.
    writeFileSync(join(consumer, "main.ts"), CONSUMER_TS);
    const tsconfig = {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        types: [],
        lib: ["ES2023"],
      },
      files: ["main.ts"],
    };
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify(tsconfig));
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    run("node", [tsc, "-p", "tsconfig.json"], consumer);
  });
});
