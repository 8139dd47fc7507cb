// Anchor attention vs a dense L x L mask reference built straight from the method's rule, over
// random anchor layouts, padding, packed documents, GQA and cached (Lq < Lk) inference; the
// 10 x 10 golden example; and gradient checks.
import { AnchorCacheState } from "@anllm/anchor-mask";
import { describe, expect, it } from "vitest";
import golden from "../../../../anchor-mask/test/fixtures/golden-10x10.json" with { type: "json" };
import * as T from "../../index";
import { seededRandom } from "../../random";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  gradCheck,
  itOnWebGPU,
  seededValues,
} from "../../testing";

const ATTN = { rtol: 1e-4, atol: 2e-5 };

interface Layout {
  anchor: Int32Array;
  doc: Int32Array;
  valid: Int32Array;
  pos: Int32Array;
}

/** Random row: anchors with probability pA, documents packed, right padding. */
function randomLayout(L: number, seed: number, pA = 0.2, docs = true, pad = 0): Layout {
  const r = seededRandom(seed);
  const anchor = Int32Array.from({ length: L }, () => +(r.next() < pA));
  const doc = new Int32Array(L);
  const pos = new Int32Array(L);
  let d = 0;
  let p = 0;
  for (let t = 0; t < L; t++) {
    if (docs && t > 0 && r.next() < 0.1) {
      d++;
      p = 0;
    }
    doc[t] = d;
    pos[t] = p++;
  }
  const valid = Int32Array.from({ length: L }, (_, t) => +(t < L - pad));
  return { anchor, doc, valid, pos };
}

/** Dense mask from the method: j <= i, same doc, valid key, same segment or visible anchor. */
function denseMask(l: Layout): boolean[][] {
  const L = l.anchor.length;
  const seg = new Int32Array(L);
  let s = 0;
  for (let t = 0; t < L; t++) {
    seg[t] = s;
    if (l.anchor[t]) s++;
  }
  return Array.from({ length: L }, (_, i) =>
    Array.from(
      { length: L },
      (_, j) =>
        j <= i &&
        !!l.valid[j] &&
        l.doc[i] === l.doc[j] &&
        (seg[i] === seg[j] || (!!l.anchor[j] && !l.anchor[i])),
    ),
  );
}

/** softmax(q k^T * scale + mask) v in float64; fully masked rows give zeros. */
function denseAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  masks: boolean[][][],
  B: number,
  H: number,
  KV: number,
  L: number,
  D: number,
): Float64Array {
  const out = new Float64Array(B * H * L * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / (H / KV));
      for (let i = 0; i < L; i++) {
        const row = masks[b]?.[i] as boolean[];
        const sc = row.map((ok, j) => {
          if (!ok) return Number.NEGATIVE_INFINITY;
          let s = 0;
          for (let d = 0; d < D; d++)
            s +=
              (q[((b * H + h) * L + i) * D + d] as number) *
              (k[((b * KV + kh) * L + j) * D + d] as number);
          return s / Math.sqrt(D);
        });
        const m = Math.max(...sc);
        if (m === Number.NEGATIVE_INFINITY) continue;
        const e = sc.map((x) => Math.exp(x - m));
        const z = e.reduce((a, c) => a + c, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < L; j++)
            acc += ((e[j] as number) / z) * (v[((b * KV + kh) * L + j) * D + d] as number);
          out[((b * H + h) * L + i) * D + d] = acc;
        }
      }
    }
  return out;
}

const host = (n: number, seed: number) => seededValues(n, seed);

/** Seeded q [B, H, lq, D] and k, v [B, KV, lk, D] leaves that record gradients. */
function qkvParams(B: number, H: number, KV: number, lq: number, lk: number, D: number) {
  return [
    T.param(T.tensor(host(B * H * lq * D, 1), [B, H, lq, D])),
    T.param(T.tensor(host(B * KV * lk * D, 2), [B, KV, lk, D])),
    T.param(T.tensor(host(B * KV * lk * D, 3), [B, KV, lk, D])),
  ] as const;
}

function cat(ls: Layout[], key: keyof Layout): Int32Array {
  return Int32Array.from(ls.flatMap((l) => Array.from(l[key])));
}

describeDevices("attention", () => {
  it("reproduces the 10 x 10 golden anchor mask of the method", async () => {
    // <s> a1 a2 A b1 A c1 c2 A d1 ; probe: q = 0, v = one-hot(key) => out[i][j] > 0 iff allowed
    const L = 10;
    const anchor = Int32Array.from(golden.isAnchor);
    const mask = T.makeAttentionMask({ batch: 1, lq: L, qAnchor: anchor, mode: "anchor" });
    const v = T.tensor(
      Float32Array.from({ length: L * L }, (_, i) => +(Math.floor(i / L) === i % L)),
      [1, 1, L, L],
    );
    const out = await T.attention(T.zeros([1, 1, L, L]), T.zeros([1, 1, L, L]), v, mask).data();
    const got = Array.from({ length: L }, (_, i) =>
      Array.from({ length: L }, (_, j) => +((out[i * L + j] as number) > 0)).join(""),
    );
    expect(got).toEqual(golden.mask);
    mask.dispose();
  });

  it("no anchors = causal; causal mode ignores anchors", async () => {
    const L = 9;
    const q = T.tensor(host(L * 8, 1), [1, 1, L, 8]);
    const k = T.tensor(host(L * 8, 2), [1, 1, L, 8]);
    const v = T.tensor(host(L * 8, 3), [1, 1, L, 8]);
    const plain = T.attention(q, k, v, T.makeAttentionMask({ batch: 1, lq: L, mode: "anchor" }));
    const causal = T.attention(
      q,
      k,
      v,
      T.makeAttentionMask({
        batch: 1,
        lq: L,
        mode: "causal",
        qAnchor: Int32Array.from({ length: L }, (_, i) => i % 2),
      }),
    );
    await expectAllClose(plain, causal, { rtol: 1e-6, atol: 1e-7 });
  });

  it("matches the dense-mask reference: random anchors, padding, packed documents, GQA", async () => {
    // software adapters run the unrolled kernels when headDim % 4 == 0 and the generic ones
    // otherwise (headDim 6) or when asked; both families are checked here
    for (const [seed, L, D, H, KV, kernels] of [
      [1, 13, 8, 2, 1, "auto"],
      [2, 37, 16, 4, 2, "auto"],
      [3, 64, 32, 4, 4, "auto"],
      [4, 29, 64, 3, 1, "auto"],
      [5, 19, 6, 2, 1, "auto"],
      [6, 37, 16, 4, 2, "generic"],
      [7, 64, 32, 4, 4, "generic"],
      // hardware GPUs' tiled kernels, forced here: several row blocks and key tiles
      [8, 37, 16, 4, 2, "tiled"],
      [9, 150, 64, 2, 1, "tiled"],
      [10, 19, 6, 2, 1, "tiled"],
    ] as const) {
      const B = 2;
      const layouts = [
        randomLayout(L, seed, 0.25, true, 0),
        randomLayout(L, seed + 100, 0.15, seed % 2 === 0, 5),
      ];
      const qh = host(B * H * L * D, seed);
      const kh = host(B * KV * L * D, seed + 1);
      const vh = host(B * KV * L * D, seed + 2);
      const mask = T.makeAttentionMask({
        batch: B,
        lq: L,
        mode: "anchor",
        qPos: cat(layouts, "pos"),
        qAnchor: cat(layouts, "anchor"),
        qDoc: cat(layouts, "doc"),
        kValid: cat(layouts, "valid"),
      });
      const out = T.attention(
        T.tensor(qh, [B, H, L, D]),
        T.tensor(kh, [B, KV, L, D]),
        T.tensor(vh, [B, KV, L, D]),
        mask,
        { kernels },
      );
      const ref = denseAttention(qh, kh, vh, layouts.map(denseMask), B, H, KV, L, D);
      await expectAllClose(out, ref, ATTN);
      mask.dispose();
    }
  });

  it("cached inference: a few queries against kept cache rows with original positions", async () => {
    // full sequence of 20 tokens; keep rows of the anchor-based cache: anchors + current segment
    const L = 20;
    const lay = randomLayout(L, 9, 0.3, false, 0);
    const dense = denseMask(lay);
    const D = 16;
    const qh = host(L * D, 1);
    const kh = host(L * D, 2);
    const vh = host(L * D, 3);
    const full = denseAttention(qh, kh, vh, [dense], 1, 1, 1, L, D);
    const queries = [17, 18, 19];
    // keys each of these queries may see (the union is the kept cache)
    const kept = [...Array(L).keys()].filter((j) => queries.some((i) => dense[i]?.[j]));
    const seg = new Int32Array(L);
    for (let t = 1; t < L; t++) seg[t] = (seg[t - 1] as number) + (lay.anchor[t - 1] as number);
    const pick = (a: Int32Array | Float32Array, idx: number[], w = 1) =>
      Float32Array.from(idx.flatMap((i) => Array.from(a.slice(i * w, (i + 1) * w))));
    const mask = T.makeAttentionMask({
      batch: 1,
      lq: queries.length,
      lk: kept.length,
      mode: "anchor",
      qPos: Int32Array.from(queries),
      kPos: Int32Array.from(kept),
      qSeg: Int32Array.from(queries.map((i) => seg[i] as number)),
      kSeg: Int32Array.from(kept.map((j) => seg[j] as number)),
      qAnchor: Int32Array.from(queries.map((i) => lay.anchor[i] as number)),
      kAnchor: Int32Array.from(kept.map((j) => lay.anchor[j] as number)),
    });
    const out = T.attention(
      T.tensor(pick(qh, queries, D), [1, 1, queries.length, D]),
      T.tensor(pick(kh, kept, D), [1, 1, kept.length, D]),
      T.tensor(pick(vh, kept, D), [1, 1, kept.length, D]),
      mask,
    );
    await expectAllClose(
      out,
      Float64Array.from(queries.flatMap((i) => Array.from(full.slice(i * D, (i + 1) * D)))),
      ATTN,
    );
    mask.dispose();
  });

  it("fully blocked rows are zeros, never NaN; device tensors are refused as mask arrays", async () => {
    const L = 6;
    const valid = new Int32Array([0, 0, 1, 1, 1, 1]);
    expect(() =>
      T.makeAttentionMask({
        batch: 1,
        lq: L,
        qPos: T.tensor(Int32Array.from([0, 1, 2, 3, 4, 5]), [1, L]) as unknown as Int32Array,
      }),
    ).toThrow(/qPos must be an Int32Array or Uint8Array/);
    const mask = T.makeAttentionMask({
      batch: 1,
      lq: L,
      qPos: Int32Array.from([0, 1, 2, 3, 4, 5]),
      kPos: Int32Array.from([0, 1, 2, 3, 4, 5]),
      qSeg: new Int32Array(L),
      kSeg: new Int32Array(L),
      qAnchor: new Int32Array(L),
      kAnchor: new Int32Array(L),
      kValid: valid,
      mode: "anchor",
    });
    const out = await T.attention(
      T.tensor(host(L * 4, 1), [1, 1, L, 4]),
      T.tensor(host(L * 4, 2), [1, 1, L, 4]),
      T.tensor(host(L * 4, 3), [1, 1, L, 4]),
      mask,
    ).data();
    expect(Array.from(out.slice(0, 8))).toEqual(new Array(8).fill(0));
    expect(out.every((x) => Number.isFinite(x))).toBe(true);
  });

  it("the mask handle owns its device copy: dispose right after the forward, backward still runs", async () => {
    const [L, D] = [5, 4];
    const live = T.memoryStats().liveTensors;
    const mask = T.makeAttentionMask({ batch: 1, lq: L, qAnchor: Int32Array.of(0, 1, 0, 0, 1) });
    expect([mask.batch, mask.lq, mask.lk, mask.mode, mask.hasDoc, mask.bosVisible]).toEqual([
      1,
      L,
      L,
      "anchor",
      false,
      false,
    ]);
    const q = T.param(T.tensor(host(L * D, 1), [1, 1, L, D]));
    const o = T.attention(q, q, q, mask);
    mask.dispose();
    mask.dispose(); // idempotent
    expect(mask.isDisposed).toBe(true);
    const loss = T.sum(o);
    T.backward(loss);
    expect((await (q.grad as T.Tensor).data()).every(Number.isFinite)).toBe(true);
    expect(() => T.attention(q, q, q, mask)).toThrow(T.DisposedTensorError);
    const other = T.makeAttentionMask({ batch: 1, lq: L + 1 });
    expect(() => T.attention(q, q, q, other)).toThrow(T.ShapeError);
    other.dispose();
    loss.dispose();
    o.dispose();
    q.grad?.dispose();
    q.dispose();
    expect(T.memoryStats().liveTensors).toBe(live);
  });

  itOnWebGPU.each([
    ["auto", 16, 23],
    ["generic", 16, 23],
    ["auto", 6, 23],
    ["tiled", 16, 23],
    ["tiled", 6, 23],
    // several row blocks and query/key tiles per block
    ["tiled", 64, 150],
  ] as const)(
    "backward kernels (%s, headDim %i, L %i) agree with the CPU reference (GQA, anchors, padding)",
    async (kernels, D, L) => {
      const [B, H, KV] = [2, 4, 2];
      const layouts = [randomLayout(L, 5, 0.25, true, 0), randomLayout(L, 6, 0.2, false, 4)];
      await expectSameAsCpu(
        () => {
          const [q, k, v] = qkvParams(B, H, KV, L, L, D);
          const mask = T.makeAttentionMask({
            batch: B,
            lq: L,
            qPos: cat(layouts, "pos"),
            qAnchor: cat(layouts, "anchor"),
            qDoc: cat(layouts, "doc"),
            kValid: cat(layouts, "valid"),
          });
          const o = T.attention(q, k, v, mask, { kernels });
          T.backward(T.sum(T.mul(o, T.tensor(host(B * H * L * D, 4), [B, H, L, D]))));
          mask.dispose();
          return [o, q.grad as T.Tensor, k.grad as T.Tensor, v.grad as T.Tensor];
        },
        { rtol: 1e-4, atol: 1e-5 },
      );
    },
  );
});

describeDevices(
  "attention, chunked against a reduced cache",
  () => {
    it.each([
      ["auto", 16],
      ["generic", 16],
      ["tiled", 16],
      ["tiled", 12],
    ] as const)(
      "%s kernels (headDim %i), bosVisible + keep-full + chunks: forward and backward vs the CPU reference",
      async (kernels, D) => {
        // the cache state's arrays for a chunk of queries against its kept rows (+ 3 empty slots)
        const r = seededRandom(41);
        const N = 90;
        const anchor = Int32Array.from({ length: N }, () => +(r.next() < 0.15));
        const state = new AnchorCacheState({ bosVisible: true, keepFull: [[0, 3]] });
        state.append(anchor.subarray(0, 70));
        const step = state.append(anchor.subarray(70, N));
        const lq = step.qPos.length;
        const lk = step.kPos.length + 3;
        const pad = (a: Int32Array) => {
          const out = new Int32Array(lk);
          out.set(a);
          return out;
        };
        const kValid = new Int32Array(lk).fill(1, 0, step.kPos.length);
        expect(lk).toBeLessThan(70); // the cache was reduced
        const [B, H, KV] = [1, 4, 2];
        await expectSameAsCpu(
          () => {
            const [q, k, v] = qkvParams(B, H, KV, lq, lk, D);
            const mask = T.makeAttentionMask({
              batch: B,
              lq,
              lk,
              bosVisible: true,
              qPos: step.qPos,
              qSeg: step.qSeg,
              qAnchor: step.qAnchor,
              kPos: pad(step.kPos),
              kSeg: pad(step.kSeg),
              kAnchor: pad(step.kAnchor),
              kValid,
            });
            const o = T.attention(q, k, v, mask, { kernels });
            T.backward(T.sum(T.mul(o, T.tensor(host(B * H * lq * D, 4), [B, H, lq, D]))));
            mask.dispose();
            return [o, q.grad as T.Tensor, k.grad as T.Tensor, v.grad as T.Tensor];
          },
          { rtol: 1e-4, atol: 1e-5 },
        );
      },
    );
  },
  { devices: ["webgpu"] },
);

describe("attention gradient", () => {
  it("finite differences with anchors, a document boundary and GQA", async () => {
    const [H, KV, L, D] = [2, 1, 7, 4];
    const mask = T.makeAttentionMask({
      batch: 1,
      lq: L,
      qAnchor: Int32Array.from([0, 0, 1, 0, 1, 0, 0]),
      qDoc: Int32Array.from([0, 0, 0, 0, 0, 1, 1]),
      qPos: Int32Array.from([0, 1, 2, 3, 4, 0, 1]),
      kValid: Int32Array.from([1, 1, 1, 1, 1, 1, 0]),
      device: new T.CpuDevice(),
    });
    await gradCheck(
      (q, k, v) => T.attention(q as T.Tensor, k as T.Tensor, v as T.Tensor, mask),
      [host(H * L * D, 1), host(KV * L * D, 2), host(KV * L * D, 3)],
      {
        shapes: [
          [1, H, L, D],
          [1, KV, L, D],
          [1, KV, L, D],
        ],
      },
    );
  });
});
