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

/** Chart specs for every recognised data file (see the recognisers below). */
export function buildCharts(
  manifest: readonly ManifestEntry[],
  files: readonly DataFile[],
): ChartSpec[] {
  const command = new Map(manifest.map((m) => [m.file, m.command]));
  const charts: ChartSpec[] = [];
  const loss: ChartSeries[] = [];
  const lossSources: { file: string; command: string }[] = [];
  for (const f of files) {
    const src = { file: f.file, command: command.get(f.file) ?? "(unknown)" };
    const curve = lossCurve(f.content);
    if (curve) {
      loss.push({ name: f.file.replace(/\.(jsonl|json)$/, ""), points: curve });
      lossSources.push(src);
    }
  }
  if (loss.length > 0) {
    charts.push({
      id: "loss",
      title: "Training loss",
      xLabel: "step",
      yLabel: "loss (cross-entropy, nats/token)",
      series: loss,
      sources: lossSources,
    });
  }
  return charts;
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
