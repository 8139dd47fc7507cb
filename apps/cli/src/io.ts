// Where the CLI writes: results on stdout (one JSON object with --json), progress and logs on
// stderr. Commands receive an Io so tests can capture both streams in-process.

/** Output sinks of one CLI invocation. */
export interface Io {
  /** results (human text, or the single JSON object with --json) */
  out(text: string): void;
  /** logs, warnings and progress */
  err(text: string): void;
}

/** The process's real stdout/stderr. */
export const processIo: Io = {
  out: (t) => {
    process.stdout.write(t);
  },
  err: (t) => {
    process.stderr.write(t);
  },
};

/** An Io that records everything (for tests and for --json capture). */
export function captureIo(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
  };
  return io;
}

/** Prints `value` as one JSON object (with --json) or `human` lines otherwise. */
export function emit(io: Io, json: boolean, value: unknown, human: () => string): void {
  if (json) io.out(`${JSON.stringify(value, null, 2)}\n`);
  else io.out(`${human()}\n`);
}
