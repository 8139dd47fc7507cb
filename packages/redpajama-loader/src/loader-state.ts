// The loader's resumable cursor: a JSON-serialisable state naming the shuffle block to re-read,
// the next document index inside it and the token offset (packing), plus a config fingerprint.
import type { BadInputSnapshot } from "./bad-input";
import { ResumeStateError } from "./errors";

/** Serialisable loader position; pass it back as `resume` to continue exactly after a batch. */
export interface LoaderState {
  version: 1;
  /** Hash of the options and file list that shape the stream; resume refuses a mismatch. */
  fingerprint: string;
  epoch: number;
  /** The shuffle block being consumed: its index and where its reading started. */
  block: { index: number; fileIndex: number; line: number; report: BadInputSnapshot };
  /** Index (in the block's shuffled order) of the next document to consume. */
  next: number;
  /** Tokens of that document already emitted (packing mode), else 0. */
  tokenOffset: number;
  /** Batches emitted so far. */
  batches: number;
  /** True once the stream is exhausted. */
  done: boolean;
}

/** FNV-1a over a string, as 8 hex digits. */
export function fingerprintOf(value: unknown): string {
  const s = JSON.stringify(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** Checks a state's shape and fingerprint; throws {@link ResumeStateError}. */
export function checkState(state: unknown, fingerprint: string): LoaderState {
  const s = state as LoaderState;
  const ok =
    s !== null &&
    typeof s === "object" &&
    s.version === 1 &&
    typeof s.fingerprint === "string" &&
    Number.isInteger(s.epoch) &&
    Number.isInteger(s.next) &&
    Number.isInteger(s.tokenOffset) &&
    s.block !== null &&
    typeof s.block === "object" &&
    Number.isInteger(s.block.index) &&
    Number.isInteger(s.block.fileIndex) &&
    Number.isInteger(s.block.line) &&
    typeof s.block.report === "object";
  if (!ok)
    throw new ResumeStateError("resume state is malformed (expected a LoaderState, version 1)");
  if (s.fingerprint !== fingerprint) {
    throw new ResumeStateError(
      `resume state fingerprint ${s.fingerprint} does not match this loader (${fingerprint}): ` +
        "dataset files or options that shape the stream changed",
    );
  }
  return s;
}
