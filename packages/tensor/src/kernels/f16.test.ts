// Every kernel on f16 tensors (f16 storage, f32 arithmetic and accumulation, one rounding on
// store): the WebGPU kernels against the CPU reference run on the same f16 inputs, and the f16
// results against the f32 run of the same values. Tolerances per dtype:
// - f16 GPU vs f16 CPU reference: F16_SAME (the two differ only where an f32 result rounds to a
//   neighbouring f16 value: one f16 ulp is 2^-11..2^-10 relative, plus summation-order noise);
// - f16 vs f32 of the same (f16-representable) inputs: F16_VS_F32 (the f16 output rounding and
//   f16 intermediates, e.g. attention probabilities times f16 values).
// Finite-difference checks stay in f32 (the op files' gradient suites).
import { expect } from "vitest";
import { f16ToF32, f32ToF16 } from "../half";
import * as T from "../index";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  itOnWebGPU,
  seededValues,
} from "../testing";
import { GPU_TILING, SOFTWARE_TILING } from "./matmul/matmul.wgsl";

const F16_SAME = { rtol: 4e-3, atol: 2e-3 };
const F16_VS_F32 = { rtol: 1e-2, atol: 1e-2 };

/** Seeded values in [-amp, amp), already f16-representable (so f16 and f32 runs see the same). */
const host = (n: number, seed: number, amp = 1) => f16ToF32(f32ToF16(seededValues(n, seed, amp)));

type Build = (dtype: "f16" | "f32") => T.Tensor[];

/** Runs `build` in f16 and f32; f16 outputs must be f16 where `halfOut` says so. */
async function f16NearF32(build: Build, halfOut: boolean[]): Promise<void> {
  const h = build("f16");
  const f = build("f32");
  for (let i = 0; i < h.length; i++) {
    const ht = h[i] as T.Tensor;
    expect(ht.dtype, `output ${i} dtype`).toBe(halfOut[i] ? "f16" : "f32");
    await expectAllClose(ht, f[i] as T.Tensor, F16_VS_F32);
  }
}

/** f16 leaf with gradients (f16 tensors may require grad; grads come back f16). */
const leaf = (v: Float32Array, shape: number[], dtype: "f16" | "f32") =>
  T.param(T.tensor(v, shape, { dtype }));

const matmulCases: [string, (d: "f16" | "f32") => T.Tensor[]][] = [
  [
    "nn vectorised",
    (d) => [
      T.matmul(
        T.tensor(host(45 * 33, 1), [45, 33], { dtype: d }),
        T.tensor(host(33 * 76, 2), [33, 76], { dtype: d }),
      ),
    ],
  ],
  [
    "nt (B transposed)",
    (d) => [
      T.matmul(
        T.tensor(host(19 * 36, 3), [19, 36], { dtype: d }),
        T.tensor(host(23 * 36, 4), [23, 36], { dtype: d }),
        { transB: true },
      ),
    ],
  ],
  [
    "transA",
    (d) => [
      T.matmul(
        T.tensor(host(33 * 45, 5), [33, 45], { dtype: d }),
        T.tensor(host(33 * 76, 6), [33, 76], { dtype: d }),
        { transA: true },
      ),
    ],
  ],
  [
    "scalar",
    (d) => [
      T.matmul(
        T.tensor(host(45 * 33, 7), [45, 33], { dtype: d }),
        T.tensor(host(33 * 77, 8), [33, 77], { dtype: d }),
        { scalar: true },
      ),
    ],
  ],
  ...[SOFTWARE_TILING, GPU_TILING, { tm: 1, tn: 1, wx: 16, wy: 4 }].map(
    (tiling) =>
      [
        `tiling ${tiling.tm}x${tiling.tn}/${tiling.wx}x${tiling.wy}`,
        (d: "f16" | "f32") => [
          T.matmul(
            T.tensor(host(45 * 33, 9), [45, 33], { dtype: d }),
            T.tensor(host(33 * 77, 10), [33, 77], { dtype: d }),
            { tiling },
          ),
        ],
      ] as [string, (d: "f16" | "f32") => T.Tensor[]],
  ),
  [
    "batched, broadcast",
    (d) => [
      T.matmul(
        T.tensor(host(2 * 3 * 5 * 4, 11), [2, 3, 5, 4], { dtype: d }),
        T.tensor(host(4 * 8, 12), [4, 8], { dtype: d }),
      ),
    ],
  ],
];

/** Forward + backward of the model's ops on f16 (grads come back f16 for f16 leaves). */
const opCases: [string, (d: "f16" | "f32") => T.Tensor[], boolean[]][] = [
  [
    "matmul backward",
    (d) => {
      const a = leaf(host(2 * 7 * 12, 20), [2, 7, 12], d);
      const w = leaf(host(16 * 12, 21), [16, 12], d);
      const y = T.matmul(a, w, { transB: true });
      T.backward(T.sum(T.mul(y, T.tensor(host(2 * 7 * 16, 22), [2, 7, 16], { dtype: d }))));
      return [y, a.grad as T.Tensor, w.grad as T.Tensor];
    },
    [true, true, true],
  ],
  [
    "rmsNorm",
    (d) => {
      const x = leaf(host(7 * 33, 23, 3), [7, 33], d);
      const w = leaf(host(33, 24), [33], d);
      const y = T.rmsNorm(x, w, 1e-5);
      T.backward(T.sum(T.mul(y, T.tensor(host(7 * 33, 25), [7, 33], { dtype: d }))));
      return [y, x.grad as T.Tensor, w.grad as T.Tensor];
    },
    [true, true, true],
  ],
  [
    "rope",
    (d) => {
      const x = leaf(host(2 * 3 * 5 * 8, 26), [2, 3, 5, 8], d);
      const pos = T.tensor(
        Int32Array.from({ length: 10 }, (_, i) => (i * 7) % 13),
        [2, 5],
      );
      const y = T.rope(x, pos);
      T.backward(T.sum(T.mul(y, T.tensor(host(2 * 3 * 5 * 8, 27), [2, 3, 5, 8], { dtype: d }))));
      return [y, x.grad as T.Tensor];
    },
    [true, true],
  ],
  [
    "softmax and logSoftmax",
    (d) => {
      const x = leaf(host(6 * 37, 28, 4), [6, 37], d);
      const s = T.softmax(x);
      const l = T.logSoftmax(x);
      T.backward(T.sum(T.mul(T.add(s, l), T.tensor(host(6 * 37, 29), [6, 37], { dtype: d }))));
      return [s, l, x.grad as T.Tensor];
    },
    [true, true, true],
  ],
  [
    "crossEntropy (loss in f32)",
    (d) => {
      const logits = leaf(host(9 * 50, 30, 5), [9, 50], d);
      const targets = T.tensor(Int32Array.from([3, 49, 0, -100, 7, 7, 12, 30, 1]), [9]);
      const loss = T.crossEntropy(logits, targets, { ignoreIndex: -100 });
      T.backward(loss);
      return [loss, logits.grad as T.Tensor];
    },
    [false, true],
  ],
  [
    "embedding gather and its scatter-add gradient",
    (d) => {
      const table = leaf(host(11 * 6, 31), [11, 6], d);
      const ids = T.tensor(Int32Array.from([3, 1, 3, 10, 0, 3, 7]), [7]);
      const y = T.embedding(table, ids);
      T.backward(T.sum(T.mul(y, T.tensor(host(7 * 6, 32), [7, 6], { dtype: d }))));
      return [y, table.grad as T.Tensor];
    },
    [true, true],
  ],
  [
    "movement: transpose, slice, concat, expand",
    (d) => {
      const x = leaf(host(3 * 4 * 5, 33), [3, 4, 5], d);
      const y = T.concat([T.transpose(x, 0, 2), T.transpose(x, 0, 2)], 1);
      const z = T.slice(y, 1, 2, 6);
      T.backward(T.sum(T.mul(z, T.tensor(host(5 * 4 * 3, 34), [5, 4, 3], { dtype: d }))));
      return [y, z, x.grad as T.Tensor];
    },
    [true, true, true],
  ],
  [
    "sum and max reduce in f32",
    (d) => {
      const x = leaf(host(5 * 300, 35, 8), [5, 300], d);
      const s = T.sum(x, -1);
      const m = T.max(x, 0);
      T.backward(T.add(T.sum(s), T.sum(m)));
      return [s, m, x.grad as T.Tensor];
    },
    [false, false, true],
  ],
];

function attentionCase(kernels: "generic" | "unrolled" | "tiled", backward: boolean) {
  return (d: "f16" | "f32") => {
    const [B, H, KV, L, D] = [2, 4, 2, 23, 8];
    const anchor = Int32Array.from({ length: B * L }, (_, i) => +(i % 23 === 5 || i % 7 === 3));
    const mask = T.makeAttentionMask({ batch: B, lq: L, mode: "anchor", qAnchor: anchor });
    const q = leaf(host(B * H * L * D, 40), [B, H, L, D], d);
    const k = leaf(host(B * KV * L * D, 41), [B, KV, L, D], d);
    const v = leaf(host(B * KV * L * D, 42), [B, KV, L, D], d);
    const out = T.attention(q, k, v, mask, { kernels });
    if (!backward) return [out];
    T.backward(T.sum(T.mul(out, T.tensor(host(B * H * L * D, 43), [B, H, L, D], { dtype: d }))));
    return [out, q.grad as T.Tensor, k.grad as T.Tensor, v.grad as T.Tensor];
  };
}

describeDevices(
  "f16 kernels",
  () => {
    itOnWebGPU.each(matmulCases)(
      "matmul %s: f16 GPU = f16 CPU reference, near f32",
      async (_n, build) => {
        await expectSameAsCpu(() => build("f16"), F16_SAME);
        await f16NearF32(build, [true]);
      },
    );

    itOnWebGPU.each(opCases)(
      "%s: f16 GPU = f16 CPU reference, near f32",
      async (_n, build, halfOut) => {
        await expectSameAsCpu(() => build("f16"), F16_SAME);
        await f16NearF32(build, halfOut);
      },
    );

    itOnWebGPU.each([["generic"], ["unrolled"], ["tiled"]] as const)(
      "anchor attention (%s kernels, GQA) forward and backward: f16 GPU = f16 CPU reference, near f32",
      async (kernels) => {
        await expectSameAsCpu(() => attentionCase(kernels, true)("f16"), F16_SAME);
        await f16NearF32(attentionCase(kernels, true), [true, true, true, true]);
      },
    );
  },
  { devices: ["webgpu"] },
);
