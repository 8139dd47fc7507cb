// Bad-input bookkeeping: counts per reason plus the first few occurrences with file and line,
// snapshot/restore so a resumed loader reports exactly what an uninterrupted one would.
import { BadRecordError } from "./errors";

/** Every reason a line or file can be skipped for. */
export const BAD_INPUT_REASONS = [
  "malformed-json",
  "not-an-object",
  "missing-text",
  "non-string-text",
  "invalid-utf8",
  "empty-text",
  "blank-line",
  "line-too-long",
  "truncated",
  "corrupt",
] as const;

/** One of {@link BAD_INPUT_REASONS}. */
export type BadInputReason = (typeof BAD_INPUT_REASONS)[number];

/** One recorded occurrence of bad input. */
export interface BadInputSample {
  reason: BadInputReason;
  file: string;
  /**
   * 1-based line number in the decompressed stream (for "truncated": the line being read; for
   * "corrupt", a gzip file failing its integrity check: 1, the whole file is skipped).
   */
  line: number;
  message: string;
}

/** JSON form of a report, as stored inside a loader state. */
export interface BadInputSnapshot {
  counts: Record<BadInputReason, number>;
  samples: BadInputSample[];
}

/** Cheap marker returned by {@link BadInputReport.mark}. */
export interface BadInputMark {
  counts: Record<BadInputReason, number>;
  sampleCount: number;
}

function zeroCounts(): Record<BadInputReason, number> {
  const counts = {} as Record<BadInputReason, number>;
  for (const r of BAD_INPUT_REASONS) counts[r] = 0;
  return counts;
}

/** Counts of skipped input per reason, and the first `maxSamples` occurrences. */
export class BadInputReport {
  counts: Record<BadInputReason, number> = zeroCounts();
  samples: BadInputSample[] = [];
  constructor(
    readonly strict = false,
    readonly maxSamples = 100,
  ) {}

  /** Records one occurrence; throws {@link BadRecordError} in strict mode. */
  add(reason: BadInputReason, file: string, line: number, message: string): void {
    if (this.strict) throw new BadRecordError(reason, file, line, message);
    this.counts[reason]++;
    if (this.samples.length < this.maxSamples) this.samples.push({ reason, file, line, message });
  }

  /** Total number of skipped lines/events. */
  get total(): number {
    let t = 0;
    for (const r of BAD_INPUT_REASONS) t += this.counts[r];
    return t;
  }

  /** A deep copy usable as JSON. */
  snapshot(): BadInputSnapshot {
    return this.snapshotAt(this.mark());
  }

  /** A cheap marker of the current state (samples are append-only, so a count suffices). */
  mark(): BadInputMark {
    return { counts: { ...this.counts }, sampleCount: this.samples.length };
  }

  /** The JSON snapshot of an earlier {@link mark}. */
  snapshotAt(m: BadInputMark): BadInputSnapshot {
    return {
      counts: { ...m.counts },
      samples: this.samples.slice(0, m.sampleCount).map((x) => ({ ...x })),
    };
  }

  /** Replaces the current state by a snapshot. */
  restore(s: BadInputSnapshot): void {
    this.counts = { ...zeroCounts(), ...s.counts };
    this.samples = s.samples.map((x) => ({ ...x }));
  }
}
