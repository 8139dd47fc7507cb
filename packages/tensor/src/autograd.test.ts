// Autograd engine and memory: accumulation into .grad, shared subgraphs, noGrad, tidy/keep,
// saved tensors surviving tidy, buffer pool reuse and live-byte accounting.
import { expect, it } from "vitest";
import * as T from "./index";
import { describeDevices, expectAllClose } from "./testing";

describeDevices("autograd and memory", () => {
  it("accumulates into .grad across backward calls and shared uses", async () => {
    const x = T.param(T.tensor([1, 2, 3], [3]));
    const y = T.mul(x, x); // x used twice
    T.backward(T.sum(T.add(y, x)));
    await expectAllClose(x.grad as T.Tensor, [3, 5, 7]);
    T.backward(T.sum(x));
    await expectAllClose(x.grad as T.Tensor, [4, 6, 8]);
  });

  it("noGrad records nothing; detach cuts the graph", () => {
    const x = T.param(T.ones([2]));
    const y = T.noGrad(() => T.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(T.mul(x, 2).requiresGrad).toBe(true);
    expect(T.mul(x.detach(), 2).requiresGrad).toBe(false);
    expect(() => T.backward(y)).toThrow(/no gradient history/);
  });

  it("backward works after tidy disposed the intermediates", async () => {
    const w = T.param(T.tensor([0.5, -1], [2]));
    const loss = T.tidy(() => {
      const h = T.exp(T.mul(w, 3));
      return T.sum(T.square(h));
    });
    T.backward(loss);
    // d/dw sum(exp(3w)^2) = 6 exp(6w)
    await expectAllClose(w.grad as T.Tensor, [6 * Math.exp(3), 6 * Math.exp(-6)], { rtol: 1e-5 });
  });

  it("tidy disposes what it created, keeps results and kept tensors", () => {
    const before = T.memoryStats().liveTensors;
    let kept: T.Tensor | null = null;
    const out = T.tidy(() => {
      const a = T.ones([4]);
      const b = T.add(a, 1);
      kept = T.keep(T.mul(b, 2));
      return { r: T.sub(b, 1) };
    });
    expect(T.memoryStats().liveTensors).toBe(before + 2);
    expect(out.r.isDisposed).toBe(false);
    expect((kept as unknown as T.Tensor).isDisposed).toBe(false);
    out.r.dispose();
    (kept as unknown as T.Tensor).dispose();
    expect(T.memoryStats().liveTensors).toBe(before);
  });

  it("a training-like loop does not leak tensors or bytes", async () => {
    const w = T.param(T.tensor([0.1, 0.2, 0.3, 0.4], [2, 2]));
    const m = T.zeros([2, 2]);
    const v = T.zeros([2, 2]);
    const x = T.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const step = (s: number) => {
      T.tidy(() => {
        const loss = T.mean(T.square(T.matmul(x, w)));
        T.backward(loss);
      });
      T.adamwUpdate(w, w.grad as T.Tensor, m, v, { lr: 0.01, step: s });
      w.grad?.dispose();
      w.grad = null;
    };
    step(1);
    const base = T.memoryStats();
    for (let s = 2; s < 6; s++) step(s);
    await T.getDevice().sync();
    const after = T.memoryStats();
    expect(after.liveTensors).toBe(base.liveTensors);
    expect(after.liveBytes).toBe(base.liveBytes);
  });

  it("using a disposed tensor throws a named error", () => {
    const a = T.ones([2]);
    a.dispose();
    expect(() => T.add(a, 1)).toThrow(T.DisposedTensorError);
  });

  it("shape errors are readable", () => {
    expect(() => T.add(T.ones([2, 3]), T.ones([4]))).toThrow(/do not broadcast/);
    expect(() => T.matmul(T.ones([2, 3]), T.ones([4, 5]))).toThrow(/inner dims differ/);
    expect(() => T.tensor([1, 2, 3], [2, 2])).toThrow(/3 values for shape \[2,2\]/);
  });

  it("f16 / bf16 load as f32", async () => {
    // 1.0, -2.5, 65504 (max half), 2^-24 (smallest subnormal)
    await expectAllClose(
      T.fromF16(Uint16Array.from([0x3c00, 0xc100, 0x7bff, 0x0001]), [4]),
      [1, -2.5, 65504, 2 ** -24],
      { rtol: 0, atol: 0 },
    );
    await expectAllClose(T.fromBF16(Uint16Array.from([0x3f80, 0xc020]), [2]), [1, -2.5], {
      rtol: 0,
      atol: 0,
    });
  });
});
