// Makes sure a built site exists before the link and browser tests: builds it (`pnpm run build`)
// when .vitepress/dist is missing, so `pnpm test` works from a clean checkout too.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

export const docsRoot = new URL("..", import.meta.url).pathname;
export const distDir = join(docsRoot, ".vitepress", "dist");

export default function setup(): void {
  const index = join(distDir, "index.html");
  if (existsSync(index)) {
    const ageMin = (Date.now() - statSync(index).mtimeMs) / 60_000;
    console.log(
      `docs tests: using the built site in ${distDir} (built ${ageMin.toFixed(1)} min ago)`,
    );
    return;
  }
  console.log("docs tests: no built site yet; running `pnpm run build` first");
  const r = spawnSync("pnpm", ["run", "build"], { cwd: docsRoot, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`docs build failed (exit ${r.status ?? r.signal})`);
}
