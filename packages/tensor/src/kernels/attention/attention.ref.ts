// CPU reference of the anchor attention (forward with log-sum-exp, dQ, dK/dV), evaluating the
// same per-token mask rule; the tests also check it against a dense L x L mask.
import type { TypedArray } from "../../dtype";
import { maskOffsets } from "./attention.layout";

/** Shapes and options of one attention call. */
export interface AttentionParams {
  batch: number;
  nHeads: number;
  nKvHeads: number;
  lq: number;
  lk: number;
  headDim: number;
  scale: number;
  anchorMode: boolean;
  hasDoc: boolean;
  bosVisible: boolean;
  /** GPU kernels: "unrolled" (software adapters, headDim % 4 == 0) or "generic" (default). */
  kernels?: "generic" | "unrolled";
}

/** allowed(b, i, j) over the packed mask (layout in attention.layout.ts). */
export function maskRule(
  p: AttentionParams,
  mask: Int32Array,
): (b: number, i: number, j: number) => boolean {
  const o = maskOffsets(p.batch * p.lq, p.batch * p.lk);
  return (b, i, j) => {
    const qi = b * p.lq + i;
    const kj = b * p.lk + j;
    if (mask[o.kValid + kj] === 0) return false;
    const kp = mask[o.kPos + kj] as number;
    if (kp > (mask[o.qPos + qi] as number)) return false;
    if (p.hasDoc && mask[o.qDoc + qi] !== mask[o.kDoc + kj]) return false;
    if (!p.anchorMode) return true;
    if (p.bosVisible && kp === 0) return true;
    if (mask[o.qSeg + qi] === mask[o.kSeg + kj]) return true;
    return mask[o.kAnchor + kj] !== 0 && mask[o.qAnchor + qi] === 0;
  };
}

/** Batch, position and K/V row offset of flat query row r ([batch, nHeads, lq] order). */
function queryRow(p: AttentionParams, r: number): { b: number; i: number; kBase: number } {
  const h = Math.floor(r / p.lq) % p.nHeads;
  const b = Math.floor(r / (p.lq * p.nHeads));
  const kvHead = Math.floor(h / (p.nHeads / p.nKvHeads));
  return { b, i: r % p.lq, kBase: (b * p.nKvHeads + kvHead) * p.lk * p.headDim };
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, n: number): number {
  let s = 0;
  for (let d = 0; d < n; d++) s += (a[ai + d] as number) * (b[bi + d] as number);
  return s;
}

/** arrays = [q, k, v, mask, out, lse]. */
export function attentionRef(p: AttentionParams, arrays: TypedArray[]): void {
  const [q, k, v, mask, out, lse] = arrays as [
    Float32Array,
    Float32Array,
    Float32Array,
    Int32Array,
    Float32Array,
    Float32Array,
  ];
  const ok = maskRule(p, mask);
  const hd = p.headDim;
  const scores = new Float64Array(p.lk);
  for (let r = 0; r < p.batch * p.nHeads * p.lq; r++) {
    const { b, i, kBase } = queryRow(p, r);
    // scores of allowed keys, then a stable softmax
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < p.lk; j++) {
      scores[j] = ok(b, i, j)
        ? dot(q, r * hd, k, kBase + j * hd, hd) * p.scale
        : Number.NEGATIVE_INFINITY;
      m = Math.max(m, scores[j] as number);
    }
    let l = 0;
    for (let j = 0; j < p.lk; j++)
      if (scores[j] !== Number.NEGATIVE_INFINITY) l += Math.exp((scores[j] as number) - m);
    for (let d = 0; d < hd; d++) {
      let acc = 0;
      for (let j = 0; j < p.lk; j++) {
        if (scores[j] === Number.NEGATIVE_INFINITY) continue;
        acc += Math.exp((scores[j] as number) - m) * (v[kBase + j * hd + d] as number);
      }
      out[r * hd + d] = l > 0 ? acc / l : 0;
    }
    lse[r] = l > 0 ? m + Math.log(l) : 0;
  }
}

/** arrays = [q, k, v, mask, dout, lse, dsum, dq]. */
export function attentionDqRef(p: AttentionParams, arrays: TypedArray[]): void {
  const [q, k, v, mask, dout, lse, dsum, dq] = arrays as [
    Float32Array,
    Float32Array,
    Float32Array,
    Int32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const ok = maskRule(p, mask);
  const hd = p.headDim;
  for (let r = 0; r < p.batch * p.nHeads * p.lq; r++) {
    const { b, i, kBase } = queryRow(p, r);
    dq.fill(0, r * hd, (r + 1) * hd);
    for (let j = 0; j < p.lk; j++) {
      if (!ok(b, i, j)) continue;
      // ds = p * (dO.v - D)
      const prob = Math.exp(dot(q, r * hd, k, kBase + j * hd, hd) * p.scale - (lse[r] as number));
      const ds = prob * (dot(dout, r * hd, v, kBase + j * hd, hd) - (dsum[r] as number));
      for (let d = 0; d < hd; d++)
        dq[r * hd + d] =
          (dq[r * hd + d] as number) + ds * (k[kBase + j * hd + d] as number) * p.scale;
    }
  }
}

/** arrays = [q, k, v, mask, dout, lse, dsum, dk, dv]. */
export function attentionDkvRef(p: AttentionParams, arrays: TypedArray[]): void {
  const [q, k, v, mask, dout, lse, dsum, dk, dv] = arrays as [
    Float32Array,
    Float32Array,
    Float32Array,
    Int32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const ok = maskRule(p, mask);
  const hd = p.headDim;
  const group = p.nHeads / p.nKvHeads;
  for (let r = 0; r < p.batch * p.nKvHeads * p.lk; r++) {
    const j = r % p.lk;
    const kvh = Math.floor(r / p.lk) % p.nKvHeads;
    const b = Math.floor(r / (p.lk * p.nKvHeads));
    dk.fill(0, r * hd, (r + 1) * hd);
    dv.fill(0, r * hd, (r + 1) * hd);
    for (let hh = 0; hh < group; hh++) {
      const h = kvh * group + hh;
      for (let i = 0; i < p.lq; i++) {
        if (!ok(b, i, j)) continue;
        const qr = (b * p.nHeads + h) * p.lq + i;
        const prob = Math.exp(dot(q, qr * hd, k, r * hd, hd) * p.scale - (lse[qr] as number));
        const ds = prob * (dot(dout, qr * hd, v, r * hd, hd) - (dsum[qr] as number)) * p.scale;
        for (let d = 0; d < hd; d++) {
          dv[r * hd + d] = (dv[r * hd + d] as number) + prob * (dout[qr * hd + d] as number);
          dk[r * hd + d] = (dk[r * hd + d] as number) + ds * (q[qr * hd + d] as number);
        }
      }
    }
  }
}
