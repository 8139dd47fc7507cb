// VitePress data loader of the results page's cache-policy section: the policy comparisons
// listed in data/manifest.json (eval-policies-*.json) as tables and charts (lib/policy-results.ts).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type PolicyResults, policyResults } from "./lib/policy-results";
import { type ManifestEntry, parseDataFile } from "./lib/results";

const dataDir = join(new URL(".", import.meta.url).pathname, "data");

declare const data: PolicyResults;

export { data };

export default {
  watch: ["./data/eval-policies-*.json", "./data/manifest.json"],
  load(): PolicyResults {
    const manifestPath = join(dataDir, "manifest.json");
    if (!existsSync(manifestPath)) return { tables: [], charts: [], sources: [] };
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as ManifestEntry[];
    const files = manifest
      .filter((m) => m.file.startsWith("eval-policies-"))
      .map((m) => {
        const path = join(dataDir, m.file);
        if (!existsSync(path))
          throw new Error(`data/manifest.json lists ${m.file}, which is missing`);
        return parseDataFile(m.file, readFileSync(path, "utf8"));
      });
    return policyResults(manifest, files);
  },
};
