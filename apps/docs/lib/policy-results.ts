// The cache-policy comparison of the results page: tables and charts from the JSON that
// `anllm eval cache --policy ...` wrote (apps/docs/data/eval-policies-*.json, listed in
// data/manifest.json with their commands).
import type { ChartSeries, ChartSpec, DataFile, ManifestEntry } from "./results";

/** One row of a policy table (one model and policy at one prompt length). */
export interface PolicyTableRow {
  readonly model: string;
  readonly policy: string;
  readonly spec: string;
  readonly peakEntries: number;
  readonly meanEntries: number;
  readonly fullEntries: number;
  readonly C: number;
  readonly Cmean: number;
  readonly msPerToken: number;
  readonly tFullCache: number;
  readonly tNoCache?: number;
  readonly ppl: number;
  readonly pplFull: number;
  /** distance -> accuracy, correct and total */
  readonly recall: ReadonlyArray<{
    distance: number;
    accuracy: number;
    correct: number;
    total: number;
  }>;
}

/** All rows at one prompt length. */
export interface PolicyTable {
  readonly promptLength: number;
  readonly rows: readonly PolicyTableRow[];
  readonly distances: readonly number[];
}

/** Tables, charts and sources of every policy comparison in the data folder. */
export interface PolicyResults {
  readonly tables: readonly PolicyTable[];
  readonly charts: readonly ChartSpec[];
  readonly sources: ReadonlyArray<{ readonly file: string; readonly command: string }>;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Whether a data file is a policy comparison (`eval cache --policy`). */
export function isPolicyReport(content: unknown): boolean {
  return isRecord(content) && Array.isArray(content.policies) && Array.isArray(content.rows);
}

/** Model label of a report: its anchor mode (none = full attention). */
function modelLabel(content: Record<string, unknown>): string {
  const a = content.anchor;
  const mode = isRecord(a) && typeof a.mode === "string" ? a.mode : "?";
  return mode === "none" ? "full-attention model" : `AnLLM-${mode.toUpperCase()} model`;
}

/** Builds the policy tables and charts (C vs prompt length, recall vs distance per length). */
export function policyResults(
  manifest: readonly ManifestEntry[],
  files: readonly DataFile[],
): PolicyResults {
  const command = new Map(manifest.map((m) => [m.file, m.command]));
  const rows: Array<PolicyTableRow & { promptLength: number }> = [];
  const sources: Array<{ file: string; command: string }> = [];
  for (const f of files) {
    if (!isPolicyReport(f.content)) continue;
    const c = f.content as Record<string, unknown>;
    const model = modelLabel(c);
    sources.push({ file: f.file, command: command.get(f.file) ?? "(not in data/manifest.json)" });
    for (const r of c.rows as unknown[]) {
      if (!isRecord(r)) continue;
      rows.push({ ...(r as unknown as PolicyTableRow & { promptLength: number }), model });
    }
  }
  const lengths = [...new Set(rows.map((r) => r.promptLength))].sort((a, b) => a - b);
  const tables = lengths.map((promptLength) => {
    const here = rows.filter((r) => r.promptLength === promptLength);
    const distances = [...new Set(here.flatMap((r) => r.recall.map((b) => b.distance)))].sort(
      (a, b) => a - b,
    );
    return { promptLength, rows: here, distances };
  });
  const key = (r: PolicyTableRow) => `${r.policy} (${r.model})`;
  const names = [...new Set(rows.map(key))];
  const byName = (f: (r: PolicyTableRow & { promptLength: number }) => [number, number] | null) =>
    names.map(
      (name): ChartSeries => ({
        name,
        points: rows
          .filter((r) => key(r) === name)
          .map(f)
          .filter((p): p is [number, number] => p !== null)
          .sort((a, b) => a[0] - b[0]),
      }),
    );
  const charts: ChartSpec[] = [];
  if (rows.length > 0) {
    charts.push({
      id: "policy-cache",
      title: "K/V cache kept by each policy vs prompt length",
      xLabel: "prompt length (tokens)",
      yLabel: "C = 1 − peak / full entries (%)",
      logX: true,
      series: byName((r) => [r.promptLength, 100 * r.C]),
      sources,
    });
    for (const L of lengths)
      charts.push({
        id: `policy-recall-${L}`,
        title: `Recall accuracy vs distance, ${L}-token prompts`,
        xLabel: "distance between the fact and its query (tokens)",
        yLabel: "exact-match recall (%)",
        logX: true,
        series: names
          .map((name) => ({
            name,
            points: (rows.find((r) => r.promptLength === L && key(r) === name)?.recall ?? []).map(
              (b) => [b.distance, 100 * b.accuracy] as [number, number],
            ),
          }))
          .filter((s) => s.points.length > 0),
        sources,
      });
  }
  return { tables, charts, sources };
}
