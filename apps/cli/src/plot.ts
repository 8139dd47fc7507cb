// A dependency-free SVG line plot of the training loss per step (raw loss plus a moving average),
// written into the run folder by `anllm train` and `anllm demo`.

/** One plotted series. */
export interface Series {
  label: string;
  color: string;
  points: Array<[number, number]>;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Moving average over a window of `w` points (shorter at the start). */
export function movingAverage(points: Array<[number, number]>, w: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    sum += points[i]![1];
    if (i >= w) sum -= points[i - w]![1];
    out.push([points[i]![0], sum / Math.min(i + 1, w)]);
  }
  return out;
}

function ticks(lo: number, hi: number, n: number): number[] {
  if (hi <= lo) return [lo];
  return Array.from({ length: n + 1 }, (_, i) => lo + ((hi - lo) * i) / n);
}

/** Renders `series` as a standalone SVG document (width x height pixels). */
export function lineChartSvg(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  width = 720,
  height = 420,
): string {
  const pts = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const pad = (Math.max(...ys, 1) - Math.min(...ys, 0)) * 0.05 || 0.5;
  const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad];
  const m = { l: 64, r: 20, t: 40, b: 48 };
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (width - m.l - m.r);
  const sy = (y: number) => height - m.b - ((y - y0) / (y1 - y0 || 1)) * (height - m.t - m.b);
  const parts: string[] = [];
  for (const t of ticks(y0, y1, 5)) {
    parts.push(
      `<line x1="${m.l}" x2="${width - m.r}" y1="${sy(t)}" y2="${sy(t)}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${t.toFixed(2)}</text>`,
    );
  }
  for (const t of ticks(x0, x1, 5)) {
    parts.push(
      `<text x="${sx(t)}" y="${height - m.b + 16}" text-anchor="middle" font-size="11">${Math.round(t)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const d = s.points
      .filter(([, y]) => Number.isFinite(y))
      .map(([x, y], k) => `${k === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join(" ");
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    parts.push(
      `<text x="${width - m.r - 4}" y="${m.t + 14 * (i + 1)}" text-anchor="end" font-size="12" fill="${s.color}">${esc(s.label)}</text>`,
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${height - m.b}" x2="${width - m.r}" y2="${height - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${height - m.b}" stroke="#333"/>`,
    ...parts,
    `<text x="${width / 2}" y="${height - 10}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`,
    `<text x="16" y="${height / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${height / 2})">${esc(yLabel)}</text>`,
    "</svg>",
    "",
  ].join("\n");
}

/** The loss-curve plot of a run: raw per-step loss and a 10-step moving average. */
export function lossCurveSvg(losses: Array<[number, number]>, title = "training loss"): string {
  return lineChartSvg(title, "optimiser step", "loss (nats/token)", [
    { label: "loss", color: "#9bb7d4", points: losses },
    { label: "moving average (10)", color: "#1f4e79", points: movingAverage(losses, 10) },
  ]);
}
