// Waiting for the device without a busy main thread, under Dawn's Node binding (the `webgpu`
// package). The binding resolves its promises (onSubmittedWorkDone, mapAsync, popErrorScope) from
// a loop of `setImmediate` turns that runs while any of them is pending, so every wait keeps the
// main thread at 100%. On a software adapter that thread competes with lavapipe's worker threads
// for the cores: on 2 cores matmul 1024 with readback took 188 ms busy-polling against 92 ms with
// this (bench/results/2026-12-04-1713-spin-Infinity.json and 2026-12-04-1712-spin-1.json).
// The binding looks `setImmediate` up on the global object at each turn, so while one of our waits
// has lasted longer than `spinMs`, its turns are 0 ms timers (Node: 1 ms) instead and the thread
// sleeps between them; shorter waits keep the immediate turns and their latency.

type Immediate = (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

let active = 0;
let since = 0;
let saved: Immediate | null = null;
let spinFor = 0;

function sleepyImmediate(fn: (...args: unknown[]) => void, ...args: unknown[]): unknown {
  if (saved && performance.now() - since < spinFor) return saved(fn, ...args);
  return setTimeout(fn, 0, ...args);
}

/**
 * Runs `start` (which begins a wait on the binding) with the binding's polling turned into timer
 * turns after `spinMs`; a no-op where there is no global setImmediate (browsers). Nested and
 * concurrent waits share one patch, removed when the last ends (unless someone replaced it since).
 */
export async function idleWait<T>(start: () => Promise<T>, spinMs: number): Promise<T> {
  const g = globalThis as unknown as { setImmediate?: Immediate };
  if (typeof g.setImmediate !== "function") return start();
  if (active++ === 0) {
    saved = g.setImmediate;
    since = performance.now();
    spinFor = spinMs;
    g.setImmediate = sleepyImmediate;
  }
  try {
    return await start();
  } finally {
    if (--active === 0) {
      if (g.setImmediate === sleepyImmediate && saved) g.setImmediate = saved;
      saved = null;
    }
  }
}
