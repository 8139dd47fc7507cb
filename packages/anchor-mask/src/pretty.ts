// Pretty printer for small masks: a text table with token labels on rows (queries) and columns
// (keys), in the layout of the golden example of apps/docs/guide/method.md. Used by CLI and docs.
import { AnchorMaskInputError } from "./errors";

/** Options of `formatMask`. */
export interface FormatOptions {
  /** number of rows (queries); default: sqrt(mask.length) for a square mask */
  readonly rows?: number;
  /** number of columns (keys); default: mask.length / rows */
  readonly cols?: number;
  /** labels of the rows (and of the columns unless `colLabels` is given); default: indices */
  readonly labels?: readonly string[];
  /** labels of the columns */
  readonly colLabels?: readonly string[];
  /** characters for blocked / allowed entries; default `["0", "1"]` */
  readonly symbols?: readonly [string, string];
  /**
   * How to read entries: `"binary"` (nonzero = allowed) or `"additive"` (0 = allowed). Default: additive
   * when all entries are <= 0 and at least one is negative (an all-zero mask reads as binary).
   */
  readonly kind?: "binary" | "additive";
  /** refuse masks larger than this many rows or columns (default 64) */
  readonly maxSize?: number;
}

/**
 * Formats a row-major 0/1 mask (or an additive mask: 0 = allowed) as a labelled text table.
 * @param mask `[rows, cols]` row-major
 * @example formatMask(buildAnchorMask(flags), { labels: ["<s>", "a1", "A"] })
 */
export function formatMask(mask: ArrayLike<number>, options: FormatOptions = {}): string {
  const rows = options.rows ?? Math.round(Math.sqrt(mask.length));
  const cols = options.cols ?? (rows === 0 ? 0 : mask.length / rows);
  if (!Number.isInteger(cols) || rows * cols !== mask.length) {
    throw new AnchorMaskInputError(
      "mask",
      `length ${mask.length} does not match rows=${rows} x cols=${cols}; pass options.rows/cols`,
    );
  }
  const maxSize = options.maxSize ?? 64;
  if (rows > maxSize || cols > maxSize) {
    throw new AnchorMaskInputError(
      "mask",
      `${rows} x ${cols} is larger than maxSize ${maxSize}; format a slice or raise maxSize`,
    );
  }
  const rowLabels = labelsOf("options.labels", options.labels, rows);
  const colLabels = labelsOf("options.colLabels", options.colLabels ?? options.labels, cols);
  const additive = options.kind === undefined ? isAdditive(mask) : options.kind === "additive";
  const [off, on] = options.symbols ?? ["0", "1"];
  const rowWidth = Math.max(0, ...rowLabels.map((l) => l.length));
  const colWidth = Math.max(on.length, off.length, ...colLabels.map((l) => l.length));
  const pad = (s: string, w: number) => s.padStart(w);
  const lines = [
    `${" ".repeat(rowWidth)} ${colLabels.map((l) => pad(l, colWidth)).join(" ")}`.trimEnd(),
  ];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 0; c < cols; c++) {
      const v = mask[r * cols + c]!;
      cells.push(pad((additive ? v === 0 : v !== 0) ? on : off, colWidth));
    }
    lines.push(`${pad(rowLabels[r]!, rowWidth)} ${cells.join(" ")}`);
  }
  return lines.join("\n");
}

function labelsOf(field: string, labels: readonly string[] | undefined, n: number): string[] {
  if (labels === undefined) return Array.from({ length: n }, (_, k) => String(k));
  if (labels.length < n) {
    throw new AnchorMaskInputError(field, `expected at least ${n} labels, got ${labels.length}`);
  }
  return labels.slice(0, n).map(String);
}

/** An additive mask holds only 0 and negative values, with at least one negative. */
function isAdditive(mask: ArrayLike<number>): boolean {
  let negative = false;
  for (let k = 0; k < mask.length; k++) {
    const v = mask[k]!;
    if (v > 0) return false;
    if (v < 0) negative = true;
  }
  return negative;
}
