// Smoke tests of the WebGPU device layer: a WGSL compute kernel runs on the adapter and
// returns the right values; an invalid kernel fails with a readable KernelError; copyFrom, pool
// reuse and paged bindings (tensors above the binding limit) work.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as T from "../index";
import { initNodeDevice } from "../node";
import { expectSameAsCpu } from "../testing";
import type { WebGPUDevice } from "./webgpu-device";

let dev: WebGPUDevice;

beforeAll(async () => {
  dev = (await initNodeDevice({ prefer: "webgpu", setDefault: false })) as WebGPUDevice;
  console.log(
    `adapter: ${dev.name}; software=${dev.software}; maxStorageBufferBindingSize=${dev.limits.maxStorageBufferBindingSize}`,
  );
});
afterAll(() => dev?.destroy());

describe("webgpu device", () => {
  it("runs a WGSL compute kernel on the adapter and reads the result back", async () => {
    T.setDevice(dev);
    const a = T.tensor(
      Float32Array.from({ length: 1000 }, (_, i) => i),
      [1000],
    );
    const b = T.mul(T.add(a, 1), 2);
    const got = await b.data();
    expect(got[0]).toBe(2);
    expect(got[999]).toBe(2000);
    expect(dev.kind).toBe("webgpu");
    expect(dev.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  });

  it("an invalid kernel produces a readable error with line and column", async () => {
    const bad = "@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing + 1.0; }";
    await expect(dev.compileWgsl(bad, "bad-kernel")).rejects.toThrow(
      /bad-kernel:1:\d+ .*undefined_thing/,
    );
    await expect(dev.compileWgsl(bad, "bad-kernel")).rejects.toBeInstanceOf(T.KernelError);
  });

  it("a kernel that fails validation at dispatch time fails the next sync with its name", async () => {
    const d2 = (await initNodeDevice({ prefer: "webgpu", setDefault: false })) as WebGPUDevice;
    const broken = {
      name: "broken-kernel",
      bindings: () => [{ name: "x", type: "f32" as const, write: true }],
      variant: () => "",
      wgsl: (_p: unknown, env: { decls: string }) =>
        `${env.decls}\n@compute @workgroup_size(1) fn main() { st_x(0u, nope); }`,
      meta: () => [],
      grid: (): [number, number, number] => [1, 1, 1],
      ref: () => {},
    };
    d2.run(broken, {}, [{ storage: d2.alloc(4, "f32"), dtype: "f32" }]);
    await expect(d2.sync()).rejects.toThrow(/broken-kernel/);
    d2.destroy();
  });

  it("no CPU sync per op: many ops are batched into few submits", async () => {
    T.setDevice(dev);
    const x = T.ones([1]);
    await dev.sync();
    const before = dev.dispatches;
    const submits = dev.submits;
    let y = x;
    for (let i = 0; i < 50; i++) y = T.add(y, 1);
    expect(dev.dispatches - before).toBe(50);
    expect(dev.submits - submits).toBe(0);
    expect(await y.item()).toBe(51);
  });

  it("disposed buffers return to the pool and are reused", async () => {
    T.setDevice(dev);
    const a = T.zeros([1000]);
    await a.data();
    a.dispose();
    const pooled = T.memoryStats().pooledBytes;
    expect(pooled).toBeGreaterThan(0);
    const b = T.zeros([1000]);
    expect(T.memoryStats().pooledBytes).toBeLessThan(pooled);
    b.dispose();
  });

  it("tensors above the binding limit work through paged bindings (limit forced to 64 KiB)", async () => {
    const small = (await initNodeDevice({
      prefer: "webgpu",
      setDefault: false,
      maxBindingBytes: 64 * 1024,
    })) as WebGPUDevice;
    T.setDevice(small);
    const [V, D, N] = [700, 64, 37]; // 700 x 64 f32 = 175 KiB = 3 pages
    const f = (seed: number, n: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
    await expectSameAsCpu(
      () => {
        const w = T.param(T.tensor(f(1, V * D), [V, D]));
        const ids = T.tensor(
          Int32Array.from({ length: N }, (_, i) => (i * 97) % V),
          [N],
        );
        const h = T.embedding(w, ids);
        const logits = T.matmul(h, w, { transB: true }); // [N, V] lm head reading W [V, D] in place
        const loss = T.crossEntropy(
          logits,
          T.tensor(
            Int32Array.from({ length: N }, (_, i) => (i * 13) % V),
            [N],
          ),
        );
        T.backward(loss);
        const g = w.grad as T.Tensor;
        const m = T.zeros([V, D]);
        const v = T.zeros([V, D]);
        const p = T.add(T.mul(w, 2), 1); // elementwise over pages
        T.adamwUpdate(p, g, m, v, { lr: 0.1, step: 1 });
        return [logits, loss, g, p, T.sum(p, 0)];
      },
      { rtol: 1e-4, atol: 1e-5 },
    );
    small.destroy();
    T.setDevice(dev);
  });
});

describe("buffer pool and uploads", () => {
  it("uploads reuse pooled buffers: a training-like loop does not grow the pool", async () => {
    T.setDevice(dev);
    const step = async (i: number) => {
      const ids = T.tensor(
        Int32Array.from({ length: 128 }, (_, k) => (k * 7 + i) % 50),
        [128],
      );
      const s = T.sum(T.cast(ids, "f32"));
      await s.item();
      ids.dispose();
      s.dispose();
    };
    await step(0);
    await step(1);
    const pooled = T.memoryStats().pooledBytes;
    for (let i = 2; i < 12; i++) await step(i);
    expect(T.memoryStats().pooledBytes).toBe(pooled);
  });

  it("an upload into a reused buffer does not disturb queued work that read its old contents", async () => {
    T.setDevice(dev);
    const a = T.tensor(new Float32Array(64).fill(1), [64]);
    const b = T.add(a, 1); // queued, reads a
    a.dispose(); // a's buffer goes to the pool while the add is not yet submitted
    const c = T.tensor(new Float32Array(64).fill(100), [64]); // may reuse a's buffer
    expect((await b.data())[0]).toBe(2);
    expect((await c.data())[0]).toBe(100);
  });
});
