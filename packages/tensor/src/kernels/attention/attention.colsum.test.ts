// Attention column sums (attention.colsum.ts) and the cache policies' eviction bound kUntil: the
// forward and the per-KV-head column sums against a dense float64 softmax built from the rule,
// and the WebGPU kernels (every family) against the CPU reference.
import { describe, expect, it } from "vitest";
import * as T from "../../index";
import { seededRandom } from "../../random";
import { describeDevices, expectAllClose, expectSameAsCpu, seededValues } from "../../testing";

const host = (n: number, seed: number) => seededValues(n, seed);

/** A chunk of lq queries (positions c..c+lq-1) over lk keys (positions 0..lk-1), with kUntil. */
function layout(lq: number, lk: number, seed: number) {
  const r = seededRandom(seed);
  const c = lk - lq;
  const qPos = Int32Array.from({ length: lq }, (_, i) => c + i);
  const kPos = Int32Array.from({ length: lk }, (_, j) => j);
  // a sliding window of 5 after 2 sinks, plus random earlier evictions
  const kUntil = Int32Array.from({ length: lk }, (_, j) =>
    j < 2 ? 2147483647 : r.next() < 0.3 ? j + Math.floor(r.next() * 3) : j + 5,
  );
  const kValid = Int32Array.from({ length: lk }, () => +(r.next() < 0.95));
  return { qPos, kPos, kUntil, kValid };
}

/** Dense float64 probabilities [B, H, lq, lk] -> column sums per KV head [B, KV, lk]. */
function denseColumnSums(
  q: Float32Array,
  k: Float32Array,
  l: ReturnType<typeof layout>,
  s: { B: number; H: number; KV: number; lq: number; lk: number; D: number },
): { sums: Float64Array; rowsWithKeys: number } {
  const sums = new Float64Array(s.B * s.KV * s.lk);
  let rowsWithKeys = 0;
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.H; h++) {
      const kh = Math.floor(h / (s.H / s.KV));
      for (let i = 0; i < s.lq; i++) {
        const sc = Array.from({ length: s.lk }, (_, j) => {
          const ok =
            l.kValid[j] &&
            (l.kPos[j] as number) <= (l.qPos[i] as number) &&
            (l.qPos[i] as number) < (l.kUntil[j] as number);
          if (!ok) return Number.NEGATIVE_INFINITY;
          let x = 0;
          for (let d = 0; d < s.D; d++)
            x +=
              (q[((b * s.H + h) * s.lq + i) * s.D + d] as number) *
              (k[((b * s.KV + kh) * s.lk + j) * s.D + d] as number);
          return x / Math.sqrt(s.D);
        });
        const m = Math.max(...sc);
        if (m === Number.NEGATIVE_INFINITY) continue;
        rowsWithKeys++;
        const e = sc.map((x) => Math.exp(x - m));
        const z = e.reduce((a, c) => a + c, 0);
        e.forEach((x, j) => {
          const at = (b * s.KV + kh) * s.lk + j;
          sums[at] = (sums[at] as number) + x / z;
        });
      }
    }
  return { sums, rowsWithKeys };
}

describeDevices("attention column sums and kUntil", (device) => {
  it("equal the dense softmax column sums per KV head (GQA, chunk over a cache, evictions)", async () => {
    const s = { B: 1, H: 4, KV: 2, lq: 7, lk: 19, D: 8 };
    const l = layout(s.lq, s.lk, 5);
    const qh = host(s.B * s.H * s.lq * s.D, 1);
    const kh = host(s.B * s.KV * s.lk * s.D, 2);
    const mask = T.makeAttentionMask({ batch: 1, lq: s.lq, lk: s.lk, mode: "causal", ...l });
    const { out, columnSums } = T.attentionWithColumnSums(
      T.tensor(qh, [s.B, s.H, s.lq, s.D]),
      T.tensor(kh, [s.B, s.KV, s.lk, s.D]),
      T.tensor(host(s.B * s.KV * s.lk * s.D, 3), [s.B, s.KV, s.lk, s.D]),
      mask,
    );
    mask.dispose();
    expect(device().kind).toBe(columnSums.device.kind);
    expect(columnSums.shape).toEqual([s.B, s.KV, s.lk]);
    const want = denseColumnSums(qh, kh, l, s);
    const got = (await columnSums.data()) as Float32Array;
    await expectAllClose(got, want.sums, { rtol: 1e-4, atol: 1e-5 });
    // every query row's probabilities sum to one
    const total = got.reduce((a, x) => a + x, 0);
    expect(total).toBeCloseTo(want.rowsWithKeys, 3);
    // an evicted key gets nothing from the queries past its bound
    const o = (await out.data()) as Float32Array;
    expect(o.every(Number.isFinite)).toBe(true);
  });
});

describeDevices(
  "attention column sums, kernel families",
  () => {
    for (const kernels of ["generic", "unrolled", "tiled"] as const)
      it(`${kernels}: forward with kUntil and the column sums match the CPU reference`, async () => {
        const s = { B: 2, H: 4, KV: 2, lq: 9, lk: 40, D: 16 };
        const l = layout(s.lq, s.lk, 9);
        const two = (a: Int32Array) => Int32Array.from([...a, ...a]);
        await expectSameAsCpu(
          () => {
            const mask = T.makeAttentionMask({
              batch: s.B,
              lq: s.lq,
              lk: s.lk,
              mode: "causal",
              qPos: two(l.qPos),
              kPos: two(l.kPos),
              kUntil: two(l.kUntil),
              kValid: two(l.kValid),
            });
            const r = T.attentionWithColumnSums(
              T.tensor(host(s.B * s.H * s.lq * s.D, 1), [s.B, s.H, s.lq, s.D]),
              T.tensor(host(s.B * s.KV * s.lk * s.D, 2), [s.B, s.KV, s.lk, s.D]),
              T.tensor(host(s.B * s.KV * s.lk * s.D, 3), [s.B, s.KV, s.lk, s.D]),
              mask,
              { kernels },
            );
            mask.dispose();
            return [r.out, r.columnSums];
          },
          { rtol: 1e-4, atol: 1e-5 },
        );
      });
  },
  { devices: ["webgpu"] },
);

describe("attention column sums without queries", () => {
  it("are zeros", async () => {
    const dev = new T.CpuDevice();
    const mask = T.makeAttentionMask({ batch: 1, lq: 0, lk: 3, device: dev });
    const z = (shape: number[]) => T.zeros(shape, { device: dev });
    const r = T.attentionWithColumnSums(z([1, 1, 0, 4]), z([1, 1, 3, 4]), z([1, 1, 3, 4]), mask);
    expect(Array.from((await r.columnSums.data()) as Float32Array)).toEqual([0, 0, 0]);
  });
});
