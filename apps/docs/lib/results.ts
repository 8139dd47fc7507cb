// Turns the JSON files in apps/docs/data (written by the CLI, listed in data/manifest.json with the
// command that produced each) into chart specifications for the results page.

/** One line of a chart. */
export interface ChartSeries {
  readonly name: string;
  /** [x, y] points, x increasing */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

/** A line chart and where its numbers came from. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly series: readonly ChartSeries[];
  /** data files the chart was drawn from, with the commands that produced them */
  readonly sources: ReadonlyArray<{ readonly file: string; readonly command: string }>;
}

/** One entry of data/manifest.json. */
export interface ManifestEntry {
  readonly file: string;
  readonly command: string;
  readonly date?: string;
  readonly commit?: string;
  readonly note?: string;
}

/** A data file as read from disk: its name and parsed content (JSON, or JSONL as an array). */
export interface DataFile {
  readonly file: string;
  readonly content: unknown;
}

/** Parses a data file's text: `.jsonl` -> array of objects (blank lines skipped), else JSON. */
export function parseDataFile(file: string, text: string): DataFile {
  if (file.endsWith(".jsonl")) {
    const rows = text
      .split("\n")
      .map((l, k) => [l.trim(), k + 1] as const)
      .filter(([l]) => l !== "")
      .map(([l, line]) => {
        try {
          return JSON.parse(l) as unknown;
        } catch (e) {
          throw new Error(`data/${file}:${line}: not JSON (${(e as Error).message})`);
        }
      });
    return { file, content: rows };
  }
  try {
    return { file, content: JSON.parse(text) as unknown };
  } catch (e) {
    throw new Error(`data/${file}: not JSON (${(e as Error).message})`);
  }
}

/** Chart specs for every recognised data file: loss curves, perplexity and cache reduction. */
export function buildCharts(
  manifest: readonly ManifestEntry[],
  files: readonly DataFile[],
): ChartSpec[] {
  const command = new Map(manifest.map((m) => [m.file, m.command]));
  const groups = new Map<
    string,
    { series: ChartSeries[]; sources: ChartSpec["sources"][number][] }
  >();
  const add = (id: string, series: ChartSeries[], file: string) => {
    const g = groups.get(id) ?? { series: [], sources: [] };
    g.series.push(...series);
    g.sources.push({ file, command: command.get(file) ?? "(not in data/manifest.json)" });
    groups.set(id, g);
  };
  for (const f of files) {
    // cache-policy comparisons have their own section (lib/policy-results.ts)
    if (isRecord(f.content) && Array.isArray(f.content.policies)) continue;
    const name = f.file.replace(/(\.metrics)?\.(jsonl|json)$/, "");
    const curve = lossCurve(f.content);
    if (curve) add("loss", [{ name, points: movingAverage(curve, 10) }], f.file);
    const ppl = perplexitySeries(f.content, name);
    if (ppl) add("perplexity", ppl, f.file);
    const cache = cacheSeries(f.content, name);
    if (cache) {
      add("cache", cache.reduction, f.file);
      add("speedup", cache.speedup, f.file);
    }
  }
  const META: Record<string, Omit<ChartSpec, "id" | "series" | "sources">> = {
    loss: {
      title: "Training loss (moving average over 10 steps)",
      xLabel: "optimiser step",
      yLabel: "loss (nats / token)",
    },
    perplexity: {
      title: "Perplexity vs context length",
      xLabel: "context length (tokens)",
      yLabel: "perplexity",
      logX: true,
    },
    cache: {
      title: "K/V cache reduction vs prompt length",
      xLabel: "prompt length (tokens)",
      yLabel: "C = 1 − peak / full entries (%)",
      logX: true,
    },
    speedup: {
      title: "Speed-up of anchor-cache generation vs prompt length",
      xLabel: "prompt length (tokens)",
      yLabel: "T = time(baseline) / time(anchor)",
      logX: true,
    },
  };
  return ["loss", "perplexity", "cache", "speedup"].flatMap((id) => {
    const g = groups.get(id);
    return g ? [{ id, ...META[id]!, series: g.series, sources: g.sources }] : [];
  });
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** A metrics.jsonl (array of {step, loss}) -> points, or null if it is not one. */
export function lossCurve(content: unknown): Array<[number, number]> | null {
  if (!Array.isArray(content)) return null;
  const pts = content
    .filter(isRecord)
    .filter((r) => typeof r.step === "number" && typeof r.loss === "number")
    .map((r) => [r.step as number, r.loss as number] as [number, number]);
  return pts.length > 0 ? pts : null;
}

/** Mean of each point's last `w` y values (fewer at the start). */
export function movingAverage(
  points: ReadonlyArray<readonly [number, number]>,
  w: number,
): Array<[number, number]> {
  let sum = 0;
  return points.map(([x, y], i) => {
    sum += y;
    if (i >= w) sum -= points[i - w]![1];
    return [x, sum / Math.min(i + 1, w)];
  });
}

function rowsOf(x: unknown, xKey: string, yKey: string): Array<[number, number]> | null {
  if (!Array.isArray(x)) return null;
  const pts = x
    .filter(isRecord)
    .filter((r) => typeof r[xKey] === "number" && typeof r[yKey] === "number")
    .map((r) => [r[xKey] as number, r[yKey] as number] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  return pts.length > 0 ? pts : null;
}

/** `anllm eval ppl --json` ({full?: rows, anchor?: rows} with {length, ppl}) -> series. */
export function perplexitySeries(content: unknown, name: string): ChartSeries[] | null {
  if (!isRecord(content)) return null;
  const out: ChartSeries[] = [];
  for (const [key, label] of [
    ["full", "full attention"],
    ["anchor", "anchor attention"],
  ] as const) {
    const pts = rowsOf(content[key], "length", "ppl");
    if (pts) out.push({ name: `${name}: ${label}`, points: pts });
  }
  return out.length > 0 ? out : null;
}

/** `anllm eval cache --json` ({rows: [{promptLength, C, tFullCache, tNoCache?}]}) -> series. */
export function cacheSeries(
  content: unknown,
  name: string,
): { reduction: ChartSeries[]; speedup: ChartSeries[] } | null {
  if (!isRecord(content)) return null;
  const c = rowsOf(content.rows, "promptLength", "C");
  if (!c) return null;
  const speedup: ChartSeries[] = [];
  const full = rowsOf(content.rows, "promptLength", "tFullCache");
  if (full) speedup.push({ name: `${name}: vs full cache`, points: full });
  const none = rowsOf(content.rows, "promptLength", "tNoCache");
  if (none) speedup.push({ name: `${name}: vs no cache`, points: none });
  return {
    reduction: [{ name, points: c.map(([x, y]) => [x, 100 * y] as [number, number]) }],
    speedup,
  };
}

/** One row of the results page's cache table (from an `anllm eval cache --json` file). */
export interface CacheTableRow {
  readonly model: string;
  readonly promptLength: number;
  /** C in percent */
  readonly reductionPct: number;
  readonly peakEntries: number;
  readonly fullEntries: number;
  readonly speedupVsFullCache: number;
  readonly speedupVsNoCache: number | null;
  readonly source: string;
}

/** The cache table: every row of every eval-cache file, with the file it came from. */
export function cacheTable(files: readonly DataFile[]): CacheTableRow[] {
  return files.flatMap((f) => {
    if (!isRecord(f.content) || !Array.isArray(f.content.rows)) return [];
    // the cache-policy comparison has rows too, with other fields: it has its own section
    if (Array.isArray(f.content.policies)) return [];
    const model = f.file.replace(/\.json$/, "");
    return f.content.rows.filter(isRecord).flatMap((r) =>
      typeof r.promptLength === "number" && typeof r.C === "number"
        ? [
            {
              model,
              promptLength: r.promptLength,
              reductionPct: 100 * r.C,
              peakEntries: Number(r.meanPeakEntries),
              fullEntries: Number(r.meanFullEntries),
              speedupVsFullCache: Number(r.tFullCache),
              speedupVsNoCache: typeof r.tNoCache === "number" ? r.tNoCache : null,
              source: f.file,
            },
          ]
        : [],
    );
  });
}
