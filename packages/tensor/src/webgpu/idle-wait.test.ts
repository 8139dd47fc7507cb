// idleWait against a stand-in for Dawn's polling loop: a "binding" that re-queues itself through
// the global setImmediate (looked up at each turn, as the binding does) until its promise resolves.
// Checks which turns stay immediate and which become timers, and that the global is restored.
import { afterEach, describe, expect, it } from "vitest";
import { idleWait } from "./idle-wait";

const realImmediate = globalThis.setImmediate;
afterEach(() => {
  globalThis.setImmediate = realImmediate;
});

/** A pending "binding" promise resolved after `ms`, polled by setImmediate turns; counts turns. */
function bindingWait(ms: number) {
  const turns = { total: 0 };
  const t0 = performance.now();
  const promise = new Promise<void>((resolve) => {
    const tick = () => {
      turns.total++;
      if (performance.now() - t0 >= ms) resolve();
      else globalThis.setImmediate(tick);
    };
    globalThis.setImmediate(tick);
  });
  return { promise, turns };
}

describe("idleWait", () => {
  it("turns the polling into ~1 ms timer turns (spinMs 0), then restores setImmediate", async () => {
    const spinning = bindingWait(40);
    await spinning.promise;
    let sleepy: ReturnType<typeof bindingWait> | undefined;
    await idleWait(async () => {
      sleepy = bindingWait(40);
      await sleepy.promise;
    }, 0);
    // a busy loop polls thousands of times in 40 ms, 1 ms timers about 40 times
    expect(spinning.turns.total).toBeGreaterThan(1000);
    expect(sleepy?.turns.total).toBeLessThan(100);
    expect(globalThis.setImmediate).toBe(realImmediate);
  });

  it("keeps immediate turns for the first spinMs (short waits keep their latency)", async () => {
    let w: ReturnType<typeof bindingWait> | undefined;
    await idleWait(async () => {
      w = bindingWait(20);
      await w.promise;
    }, 1000);
    expect(w?.turns.total).toBeGreaterThan(200);
    expect(globalThis.setImmediate).toBe(realImmediate);
  });

  it("shares one patch between concurrent waits and restores it after the last", async () => {
    let inner = false;
    const a = idleWait(() => bindingWait(20).promise, 1);
    const patched = globalThis.setImmediate;
    expect(patched).not.toBe(realImmediate);
    const b = idleWait(async () => {
      inner = globalThis.setImmediate === patched;
      await bindingWait(40).promise;
    }, 1);
    await a;
    expect(globalThis.setImmediate).toBe(patched); // b still waits
    await b;
    expect(inner).toBe(true);
    expect(globalThis.setImmediate).toBe(realImmediate);
  });

  it("restores setImmediate when the wait rejects, and leaves a later replacement alone", async () => {
    await expect(idleWait(() => Promise.reject(new Error("lost")), 1)).rejects.toThrow("lost");
    expect(globalThis.setImmediate).toBe(realImmediate);
    const other = ((fn: () => void) => realImmediate(fn)) as typeof setImmediate;
    await idleWait(async () => {
      globalThis.setImmediate = other;
    }, 1);
    expect(globalThis.setImmediate).toBe(other);
  });
});
