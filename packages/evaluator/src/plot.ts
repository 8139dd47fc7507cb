// Perplexity-vs-context-length plot (paper Fig. 3 right) rendered to SVG headlessly with Vega-Lite.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { PerplexityResult } from "./perplexity";

/** One line of the plot, e.g. "AnLLM-AC (full)". */
export interface PplSeries {
  label: string;
  results: readonly PerplexityResult[];
}

/** Vega-Lite spec: x = context length (log2 axis), y = perplexity, one coloured line per series. */
export function pplPlotSpec(
  series: readonly PplSeries[],
  title = "Perplexity vs context length",
): TopLevelSpec {
  const values = series.flatMap((s) =>
    s.results.map((r) => ({ model: s.label, length: r.length, ppl: r.ppl })),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 420,
    height: 280,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "length",
        type: "quantitative",
        title: "context length (tokens)",
        scale: { type: "log", base: 2 },
        axis: {
          values: [...new Set(values.map((v) => v.length))].sort((a, b) => a - b),
          format: "d",
        },
      },
      y: { field: "ppl", type: "quantitative", title: "perplexity", scale: { zero: false } },
      color: { field: "model", type: "nominal", title: null },
    },
  };
}

/** Renders the perplexity plot as an SVG string (no browser, no canvas). */
export async function pplPlotSvg(series: readonly PplSeries[], title?: string): Promise<string> {
  const view = new vega.View(vega.parse(compile(pplPlotSpec(series, title)).spec), {
    renderer: "none",
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
