// The CLI's bridge from @anllm/redpajama-loader to the trainer: a resumable BatchStream whose
// cursor is the loader's JSON state after the last batch handed out, and the conversion of a
// loader batch into the model's ModelBatch.

import type { ModelBatch } from "@anllm/llama2-model";
import {
  BAD_INPUT_REASONS,
  type BadInputReport,
  type Batch,
  createLoader,
  DatasetError,
  type LoaderOptions,
  type LoaderState,
} from "@anllm/redpajama-loader";
import type { BatchStream, Json } from "@anllm/trainer";

/** A BatchStream over the loader, plus the loader's count of skipped records. */
export interface LoaderStream extends BatchStream<Batch> {
  /** skipped input so far (counts by reason, first samples), or null before the loader starts */
  report(): BadInputReport | null;
}

/**
 * A BatchStream over the loader; `epochs` passes (the loader reshuffles per epoch). When the data
 * yields no document at all (every record skipped, or empty files), iterating throws a
 * DatasetError with the counts by reason instead of ending without a batch.
 */
export function loaderStream(opts: Omit<LoaderOptions, "resume">): LoaderStream {
  let last: LoaderState | null = null;
  let current: BadInputReport | null = null;
  return {
    async *iterate(cursor: Json | undefined) {
      const resume = cursor ? (cursor as unknown as LoaderState) : undefined;
      last = resume ?? null;
      const loader = await createLoader({ ...opts, ...(resume ? { resume } : {}) });
      current = loader.report;
      let batches = 0;
      for await (const b of loader.batches()) {
        last = b.state;
        batches++;
        yield b;
      }
      if (batches === 0 && loader.emptyEpoch) {
        const paths = Array.isArray(opts.source) ? opts.source : [opts.source];
        throw new DatasetError(
          `${paths.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(", ")}: ` +
            `no usable document, so there is nothing to train on. ${skippedSummary(loader.report)}`,
        );
      }
    },
    cursor: () => last as unknown as Json,
    report: () => current,
  };
}

/** Counts by reason as one line, e.g. "skipped records: 3 (malformed-json 2, blank-line 1)". */
export function skippedSummary(report: BadInputReport, samples = 3): string {
  const reasons = BAD_INPUT_REASONS.filter((r) => report.counts[r] > 0);
  const head =
    reasons.length === 0
      ? "skipped records: 0 (the files hold no records)"
      : `skipped records: ${report.total} (${reasons.map((r) => `${r} ${report.counts[r]}`).join(", ")})`;
  const eg = report.samples
    .slice(0, samples)
    .map((s) => `\n  e.g. ${s.file}:${s.line} ${s.reason}: ${s.message}`);
  return head + eg.join("");
}

/** Counts by reason and the first samples, as JSON (for --json and metrics). */
export function skippedJson(report: BadInputReport | null, samples = 10) {
  if (!report) return { total: 0, byReason: {}, samples: [] };
  const byReason: Record<string, number> = {};
  for (const r of BAD_INPUT_REASONS) if (report.counts[r] > 0) byReason[r] = report.counts[r];
  return { total: report.total, byReason, samples: report.samples.slice(0, samples) };
}

/**
 * A loader batch as the model's input (anchor attention unless `causal`). Document ids go along so
 * that packed rows never let one document see another's tokens or anchors (paper mode has one
 * document per row, where they change nothing).
 */
export function toModelBatch(
  b: Batch,
  attention: "causal" | "anchor",
  window?: { policy: NonNullable<ModelBatch["windowPolicy"]>; separatorIds: readonly number[] },
): ModelBatch {
  // a window mask (sepllm) reads separator flags where the anchor mask reads anchors
  const seps = window ? new Set(window.separatorIds) : null;
  return {
    inputIds: b.inputIds,
    batch: b.batch,
    seqLen: b.seqLen,
    attention,
    isAnchor: seps ? Uint8Array.from(b.inputIds, (t) => (seps.has(t) ? 1 : 0)) : b.anchorMask,
    documentIds: b.docIds,
    lengths: b.lengths,
    ...(window ? { windowPolicy: window.policy } : {}),
  };
}

/** Real (non-padding) tokens of a batch. */
export function batchTokens(b: Batch): number {
  let n = 0;
  for (const l of b.lengths) n += l;
  return n;
}

/** Parses `A-B,C` token-id ranges into [from, to] pairs (inclusive). */
export function parseIdRanges(text: string): [number, number][] {
  return text.split(",").map((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not an id or an A-B range`);
    const from = Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : from;
    if (to < from) throw new Error(`range ${part} ends before it starts`);
    return [from, to];
  });
}
