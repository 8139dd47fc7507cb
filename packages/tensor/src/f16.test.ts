// f16 storage in the tensor core: uploads round to nearest even and refuse values beyond f16's
// range, reads decode, odd element counts and copies work, casts both ways, and elementwise ops
// on f16 tensors (f32 arithmetic, one rounding on store) equal the CPU reference exactly.
import { describe, expect, it } from "vitest";
import { F16RangeError } from "./errors";
import { f16ToF32, f32ToF16, f32ToF16Checked } from "./half";
import * as T from "./index";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  itOnWebGPU,
  seededValues,
} from "./testing";

const host = seededValues;

/** What f16 storage keeps of `x`: round to nearest even, then widen. */
const asF16 = (x: Float32Array) => f16ToF32(f32ToF16(x));

describe("f32ToF16Checked", () => {
  it("encodes in range and names the tensor, count, first index and largest value out of it", () => {
    expect(f32ToF16Checked([1, -65504, 0.1], "w")).toEqual(
      f32ToF16(Float32Array.of(1, -65504, 0.1)),
    );
    let err: unknown;
    try {
      f32ToF16Checked([1, 70000, 3, -1e6], "model.embed_tokens.weight");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(F16RangeError);
    expect((err as F16RangeError).count).toBe(2);
    expect((err as F16RangeError).firstIndex).toBe(1);
    expect((err as F16RangeError).maxAbs).toBe(1e6);
    expect((err as Error).message).toMatch(
      /^model\.embed_tokens\.weight: 2 value\(s\) outside the f16 range/,
    );
    // inf and NaN are not "out of range": they stay inf and NaN
    const special = f16ToF32(f32ToF16Checked([Number.POSITIVE_INFINITY, Number.NaN], "s"));
    expect(special[0]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(special[1])).toBe(true);
  });
});

describeDevices("f16 tensors", (device) => {
  it("the device stores f16", () => {
    expect(device().supportsF16).toBe(true);
  });

  it("upload rounds to nearest even, read decodes; odd sizes; copyFrom", async () => {
    for (const n of [1, 3, 8, 1001]) {
      const x = host(n, n, 100);
      const t = T.tensor(x, [n], { dtype: "f16" });
      expect(t.dtype).toBe("f16");
      await expectAllClose(t, asF16(x), { rtol: 0, atol: 0 });
      const u = T.zeros([n], { dtype: "f16" });
      u.copyFrom(t);
      await expectAllClose(u, asF16(x), { rtol: 0, atol: 0 });
    }
  });

  it("refuses values beyond f16's range with the tensor's name", () => {
    expect(() => T.tensor([1, 1e5], [2], { dtype: "f16", name: "lm_head.weight" })).toThrow(
      /lm_head\.weight: 1 value\(s\) outside the f16 range/,
    );
  });

  it("fromF16 keeps the codes, fromBF16 converts with the range check", async () => {
    const bits = f32ToF16(Float32Array.of(0.5, -2, 3.25));
    await expectAllClose(T.fromF16(bits, [3], { dtype: "f16" }), [0.5, -2, 3.25], { atol: 0 });
    // bf16 0x4780 = 65536: representable in bf16, not in f16
    expect(() =>
      T.fromBF16(Uint16Array.of(0x3f80, 0x4780), [2], { dtype: "f16", name: "b" }),
    ).toThrow(F16RangeError);
    await expectAllClose(T.fromBF16(Uint16Array.of(0x3f80), [1], { dtype: "f16" }), [1], {
      atol: 0,
    });
  });

  it("cast f32 <-> f16 rounds like the host encoder; beyond range a device cast gives inf", async () => {
    const x = host(257, 5, 1000);
    const h = T.cast(T.tensor(x, [257]), "f16");
    expect(h.dtype).toBe("f16");
    await expectAllClose(h, asF16(x), { rtol: 0, atol: 0 });
    const back = T.cast(h, "f32");
    expect(back.dtype).toBe("f32");
    await expectAllClose(back, asF16(x), { rtol: 0, atol: 0 });
    expect((await T.cast(T.tensor([1e5], [1]), "f16").data())[0]).toBe(Number.POSITIVE_INFINITY);
  });

  it("elementwise ops keep f16 when every input is f16 and widen mixed inputs to f32", async () => {
    const a = T.tensor(host(10, 1), [10], { dtype: "f16" });
    const b = T.tensor(host(10, 2), [10], { dtype: "f16" });
    expect(T.add(a, b).dtype).toBe("f16");
    expect(T.silu(a).dtype).toBe("f16");
    expect(T.mul(a, T.tensor(host(10, 3), [10])).dtype).toBe("f32");
    // one rounding of the f32 result
    const av = await a.data();
    const bv = await b.data();
    const want = asF16(Float32Array.from(av, (v, i) => v * (bv[i] as number) + v));
    await expectAllClose(T.add(T.mul(a, b), a), want, { rtol: 2e-3, atol: 1e-4 });
  });

  it("the gradient of a cast goes back to the source dtype", async () => {
    const x = T.param(T.tensor(host(6, 9), [6]));
    const h = T.cast(x, "f16");
    T.backward(T.sum(T.cast(T.mul(h, h), "f32")));
    const g = x.grad as T.Tensor;
    expect(g.dtype).toBe("f32");
    const xv = asF16(Float32Array.from(await x.data()));
    await expectAllClose(
      g,
      Float32Array.from(xv, (v) => 2 * v),
      { rtol: 2e-3, atol: 1e-4 },
    );
  });

  itOnWebGPU(
    "elementwise f16 kernels equal the CPU reference (broadcast, scalar, grads)",
    async () => {
      await expectSameAsCpu(
        () => {
          const a = T.tensor(host(3 * 5, 1, 4), [3, 5], { dtype: "f16" });
          const b = T.tensor(host(5, 2, 4), [5], { dtype: "f16" });
          const c = T.tensor(host(1, 3), [1], { dtype: "f16" });
          return [
            T.add(a, b),
            T.mul(a, c),
            T.exp(a),
            T.silu(a),
            T.where(T.compare("gt", a, b), a, b),
            T.cast(a, "f32"),
            T.cast(T.cast(a, "i32"), "f16"),
          ];
        },
        { rtol: 0, atol: 0 },
      );
    },
  );
});
