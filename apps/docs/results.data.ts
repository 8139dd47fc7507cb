// VitePress data loader of the results page: reads data/manifest.json and the files it lists (the
// CLI's JSON output) at build time and turns them into chart specs (lib/results.ts).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildCharts,
  type CacheTableRow,
  type ChartSpec,
  cacheTable,
  type ManifestEntry,
  parseDataFile,
} from "./lib/results";

const dataDir = join(new URL(".", import.meta.url).pathname, "data");

export interface ResultsData {
  readonly charts: ChartSpec[];
  readonly manifest: ManifestEntry[];
  readonly cacheTable: CacheTableRow[];
}

declare const data: ResultsData;

export { data };

export default {
  watch: ["./data/*.json", "./data/*.jsonl"],
  load(): ResultsData {
    const manifestPath = join(dataDir, "manifest.json");
    if (!existsSync(manifestPath)) return { charts: [], manifest: [], cacheTable: [] };
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as ManifestEntry[];
    const files = manifest.map((m) => {
      const path = join(dataDir, m.file);
      if (!existsSync(path))
        throw new Error(`data/manifest.json lists ${m.file}, which is missing`);
      return parseDataFile(m.file, readFileSync(path, "utf8"));
    });
    return { charts: buildCharts(manifest, files), manifest, cacheTable: cacheTable(files) };
  },
};
