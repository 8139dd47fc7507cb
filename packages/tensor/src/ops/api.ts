// Lifetime API (tidy, keep, dispose, memoryStats) and in-place parameter assignment.
import { getBackend, hasDevice } from "../device";
import { memoryCounters, resetPeakBytes, runScoped } from "../memory";
import { isTensor, type Tensor } from "../tensor";

/** Runs fn; disposes every tensor created inside except those returned (or kept). */
export function tidy<T>(fn: () => T): T {
  return runScoped(fn, isTensor);
}

/** Exempts t from every enclosing and future tidy(); returns t. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

/** Disposes one tensor or a list. */
export function dispose(t: Tensor | Tensor[] | null | undefined): void {
  if (!t) return;
  if (Array.isArray(t)) for (const x of t) x.dispose();
  else t.dispose();
}

/** Counters: live tensor objects, live and peak device bytes, bytes held in the buffer pool. */
export function memoryStats(): {
  liveTensors: number;
  liveBytes: number;
  peakBytes: number;
  pooledBytes: number;
} {
  return { ...memoryCounters(), pooledBytes: hasDevice() ? getBackend().pooledBytes() : 0 };
}

/** Starts a new peak measurement for memoryStats().peakBytes from the bytes live now. */
export function resetPeakMemory(): void {
  resetPeakBytes();
}

/** dst <- src in place (same size and dtype), e.g. for parameter updates. */
export function assignInPlace(dst: Tensor, src: Tensor): void {
  dst.copyFrom(src);
}
