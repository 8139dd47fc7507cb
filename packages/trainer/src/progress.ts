// Progress on stderr: a cli-progress bar (step, loss, tokens/s, ETA) when stderr is a terminal,
// or one plain log line every few steps otherwise, so logs stay readable in files and CI.

import { SingleBar } from "cli-progress";
import type { StepMetrics } from "./metrics";

/** "bar": cli-progress bar; "log": a line every `logEvery` steps; "none": silent; "auto": bar on a TTY, else log. */
export type ProgressMode = "auto" | "bar" | "log" | "none";

/** Reports training progress on stderr. */
export interface ProgressReporter {
  update(m: StepMetrics): void;
  stop(): void;
}

/** Creates the reporter for `mode`, for a run from step `start` to step `total`. */
export function createProgress(
  mode: ProgressMode,
  start: number,
  total: number,
  logEvery = 10,
): ProgressReporter {
  const resolved = mode === "auto" ? (process.stderr.isTTY ? "bar" : "log") : mode;
  if (resolved === "none") return { update() {}, stop() {} };
  if (resolved === "log") return logReporter(start, total, logEvery);
  const bar = new SingleBar({
    stream: process.stderr,
    format:
      "train |{bar}| step {value}/{total} | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}",
    hideCursor: true,
    etaBuffer: 20,
    noTTYOutput: true,
  });
  bar.start(total, start, { loss: "-", lr: "-", tps: "-" });
  return {
    update(m) {
      bar.update(m.step, {
        loss: Number.isFinite(m.loss) ? m.loss.toFixed(4) : String(m.loss),
        lr: m.lr.toExponential(2),
        tps: m.tokensPerSec.toFixed(0),
      });
    },
    stop() {
      bar.stop();
    },
  };
}

function logReporter(start: number, total: number, every: number): ProgressReporter {
  const t0 = Date.now();
  return {
    update(m) {
      if (m.step % every !== 0 && m.step !== total) return;
      const perStep = (Date.now() - t0) / Math.max(1, m.step - start);
      const eta = Math.round((perStep * (total - m.step)) / 1000);
      process.stderr.write(
        `train step ${m.step}/${total} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} ` +
          `grad-norm ${m.gradNorm.toFixed(3)} ${m.tokensPerSec.toFixed(0)} tok/s ETA ${eta}s\n`,
      );
    },
    stop() {},
  };
}
