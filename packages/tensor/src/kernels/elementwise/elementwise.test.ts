// Elementwise kernel vs its reference (every op of the table, odd sizes, broadcasting) on both
// devices, plus finite-difference gradient checks of every differentiable elementwise op.
import { describe, expect, it } from "vitest";
import * as T from "../../index";
import { seededRandom } from "../../random";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  gradCheck,
  itOnWebGPU,
} from "../../testing";
import { ELEM_OPS, type ElemOp } from "./table";

const F32_ELEMWISE = { rtol: 2e-5, atol: 2e-6 };
const TRANSCENDENTAL = { rtol: 1e-4, atol: 1e-5 };

function host(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r.next());
}

const UNARY_FNS: Record<string, (t: T.Tensor) => T.Tensor> = {
  neg: T.neg,
  exp: T.exp,
  log: T.log,
  sqrt: T.sqrt,
  rsqrt: T.rsqrt,
  silu: T.silu,
  gelu: T.gelu,
  relu: T.relu,
  sigmoid: T.sigmoid,
  tanh: T.tanh,
  abs: T.abs,
  square: T.square,
};
const UNARY = Object.keys(UNARY_FNS) as (keyof typeof ELEM_OPS)[];
const POSITIVE = new Set(["log", "sqrt", "rsqrt"]);

describeDevices("elementwise", () => {
  it("every unary op matches the table reference on odd sizes", async () => {
    for (const name of UNARY) {
      for (const n of [1, 257, 1000]) {
        const lo = POSITIVE.has(name) ? 0.1 : -3;
        const x = host(n, n + name.length, lo, 3);
        const y = (UNARY_FNS[name] as (t: T.Tensor) => T.Tensor)(T.tensor(x, [n]));
        const ref = Float32Array.from(x, (v) => (ELEM_OPS[name] as ElemOp).ref(v, 0, 0, 0, 0));
        await expectAllClose(y, ref, TRANSCENDENTAL);
        y.dispose();
      }
    }
  });

  itOnWebGPU("binary ops broadcast like numpy", async () => {
    const cases: [number[], number[]][] = [
      [
        [5, 1, 7],
        [3, 1],
      ],
      [[4, 3], [3]],
      [[1], [2, 3, 5]],
      [
        [2, 1, 3, 1],
        [1, 4, 1, 5],
      ],
      [
        [33, 17],
        [33, 17],
      ],
    ];
    const ops = { add: T.add, sub: T.sub, mul: T.mul, div: T.div, maximum: T.maximum } as const;
    for (const [sa, sb] of cases) {
      for (const [name, f] of Object.entries(ops)) {
        await expectSameAsCpu(() => {
          const a = T.tensor(
            host(
              sa.reduce((x, y) => x * y, 1),
              1,
            ),
            sa,
          );
          const b = T.tensor(
            host(
              sb.reduce((x, y) => x * y, 1),
              2,
              0.5,
              2,
            ),
            sb,
          );
          return f(a, b);
        }, F32_ELEMWISE).catch((e) => {
          throw new Error(`${name} [${sa}] x [${sb}]: ${e.message}`);
        });
      }
    }
  });

  itOnWebGPU("scalar forms, pow, where and cast", async () => {
    await expectSameAsCpu(() => {
      const a = T.tensor(host(101, 3, 0.2, 3), [101]);
      const b = T.tensor(host(101, 4, -2, 2), [101]);
      const cond = T.tensor(
        Int32Array.from({ length: 101 }, (_, i) => i % 3),
        [101],
      );
      return [
        T.add(a, 1.5),
        T.sub(2, a),
        T.mul(a, -3),
        T.div(1, a),
        T.pow(a, 2.5),
        T.pow(b, 3),
        T.pow(a, b),
        T.scale(a, 0.25),
        T.addScalar(a, -1),
        T.where(cond, a, b),
        T.where(cond, 1, b),
        T.cast(T.mul(b, 10), "i32"),
        T.cast(cond, "f32"),
        T.maximumScalar(b, 0.5),
      ];
    }, TRANSCENDENTAL);
  });

  it("int tensors keep exact values through copy and arithmetic", async () => {
    const big = Int32Array.from([2 ** 30 + 1, -7, 123456789]);
    const t = T.tensor(big, [3]);
    expect(Array.from(await T.contiguous(t).data())).toEqual(Array.from(big));
    expect(
      Array.from(
        await T.add(
          T.tensor(new Int32Array([1, 2, 3]), [3]),
          T.tensor(new Int32Array([4, 5, 6]), [3]),
        ).data(),
      ),
    ).toEqual([5, 7, 9]);
  });
});

describe("elementwise gradients (finite differences)", () => {
  for (const name of UNARY) {
    if (name === "abs" || name === "relu") continue;
    it(`${name}`, async () => {
      const lo = POSITIVE.has(name) ? 0.5 : -2;
      await gradCheck(
        (x) => (UNARY_FNS[name] as (t: T.Tensor) => T.Tensor)(x),
        [host(9, 11, lo, 2)],
      );
    });
  }
  it("abs and relu away from 0", async () => {
    const x = Float32Array.from([-2, -1.5, -0.5, 0.5, 1, 2]);
    await gradCheck((t) => T.abs(t), [x]);
    await gradCheck((t) => T.relu(t), [x]);
  });
  it("binary ops with broadcasting", async () => {
    const a = host(12, 5, 0.5, 2);
    const b = host(4, 6, 0.5, 2);
    const shapes = [[3, 4], [4]];
    for (const f of [T.add, T.sub, T.mul, T.div, T.pow, T.maximum]) {
      await gradCheck((x, y) => f(x as T.Tensor, y as T.Tensor), [a, b], { shapes });
    }
  });
  it("scalar ops and where", async () => {
    const a = host(7, 8, 0.5, 2);
    const cond = T.tensor(Int32Array.from([1, 0, 1, 1, 0, 0, 1]), [7], {
      device: new T.CpuDevice(),
    });
    await gradCheck((x) => T.add(T.mul(T.sub(3, x), 2), T.div(1, T.pow(x, 1.5))), [a]);
    await gradCheck(
      (x, c) => T.where(c as T.Tensor, T.square(x as T.Tensor), T.neg(x as T.Tensor)),
      [a, cond],
    );
  });
});
