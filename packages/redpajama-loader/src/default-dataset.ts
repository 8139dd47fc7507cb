// Paths of the embedded public-domain demo corpus (RedPajama 1T-Sample layout) under data/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatasetError } from "./errors";

/** The package root (src/ in development, dist/ when built: both sit one level below it). */
function packageRoot(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

/**
 * Folder of the embedded corpus, in RedPajama-1T-Sample layout (`*_sample.jsonl.gz|.zst`):
 * "train" (default) or the held-out "heldout" split for evaluation. Public-domain texts; see
 * data/README.md for sources and licences.
 */
export function defaultDatasetPath(split: "train" | "heldout" = "train"): string {
  const p = join(packageRoot(), "data", split);
  if (!existsSync(p)) throw new DatasetError(`embedded dataset folder missing: ${p}`);
  return p;
}
