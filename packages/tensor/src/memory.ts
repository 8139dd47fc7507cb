// Lifetime bookkeeping: tidy scopes, keep, live/peak byte counters.
import type { Tensor } from "./tensor";

interface Scope {
  tensors: Set<Tensor>;
}

const scopes: Scope[] = [];
const stats = { liveTensors: 0, liveBytes: 0, peakBytes: 0 };

/** Internal: called by every new tensor. */
export function trackTensor(t: Tensor): void {
  stats.liveTensors++;
  scopes[scopes.length - 1]?.tensors.add(t);
}

/** Internal: called when a tensor is disposed. */
export function untrackTensor(t: Tensor): void {
  stats.liveTensors--;
  for (let i = scopes.length - 1; i >= 0; i--) {
    if ((scopes[i] as Scope).tensors.delete(t)) break;
  }
}

/** Internal: device bytes allocated (+) or released (-). */
export function countBytes(delta: number): void {
  stats.liveBytes += delta;
  if (stats.liveBytes > stats.peakBytes) stats.peakBytes = stats.liveBytes;
}

/** Starts a new peak measurement from the bytes live now (torch.cuda.reset_peak_memory_stats). */
export function resetPeakBytes(): void {
  stats.peakBytes = stats.liveBytes;
}

/** Snapshot of the counters (bytes of live storage; pooled bytes of the given device). */
export function memoryCounters(): { liveTensors: number; liveBytes: number; peakBytes: number } {
  return { ...stats };
}

function collect(
  v: unknown,
  out: Set<Tensor>,
  seen: Set<unknown>,
  isTensor: (x: unknown) => x is Tensor,
): void {
  if (v === null || typeof v !== "object" || seen.has(v)) return;
  seen.add(v);
  if (isTensor(v)) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, seen, isTensor);
  else if (v instanceof Map) for (const x of v.values()) collect(x, out, seen, isTensor);
  else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collect(x, out, seen, isTensor);
  }
}

/**
 * Runs fn in a new scope and returns its result with the scope (already popped); if fn throws,
 * what it created (except kept tensors) is disposed first.
 */
function inScope<T>(fn: () => T): { result: T; scope: Scope } {
  const scope: Scope = { tensors: new Set() };
  scopes.push(scope);
  try {
    return { result: fn(), scope };
  } catch (e) {
    for (const t of scope.tensors) if (!t.kept) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
}

/** Internal: run fn in a scope; dispose what it created except results and kept tensors. */
export function runScoped<T>(fn: () => T, isTensor: (x: unknown) => x is Tensor): T {
  const { result, scope } = inScope(fn);
  if (result instanceof Promise)
    throw new Error("tidy(fn): fn must be synchronous (it returned a Promise)");
  const keepSet = new Set<Tensor>();
  collect(result, keepSet, new Set(), isTensor);
  const parent = scopes[scopes.length - 1];
  for (const t of scope.tensors) {
    if (keepSet.has(t)) parent?.tensors.add(t);
    else if (!t.kept) t.dispose();
  }
  return result;
}

/**
 * Internal: runs fn in a scope of its own and returns, besides its result, every tensor fn
 * created and neither disposed nor kept: they are outside any scope, the caller owns them.
 */
export function runOwning<T>(fn: () => T): { result: T; owned: Tensor[] } {
  const { result, scope } = inScope(fn);
  return { result, owned: [...scope.tensors].filter((t) => !t.kept) };
}
