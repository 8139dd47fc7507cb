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
  /**
   * GPU kernels: "unrolled" (software adapters, headDim % 4 == 0), "tiled" (hardware GPUs:
   * workgroup-memory tiles) or "generic" (default).
   */
  kernels?: "generic" | "unrolled" | "tiled";
}

/** The pair class of attention.structure.ts's `pairClass`, read from the packed mask. */
export function maskClass(
  p: AttentionParams,
  mask: Int32Array,
): (b: number, i: number, j: number) => 0 | 1 | 2 | 3 {
  const o = maskOffsets(p.batch * p.lq, p.batch * p.lk);
  return (b, i, j) => {
    const qi = b * p.lq + i;
    const kj = b * p.lk + j;
    if (mask[o.kValid + kj] === 0) return 0;
    const kp = mask[o.kPos + kj] as number;
    if (kp > (mask[o.qPos + qi] as number)) return 0;
    if ((mask[o.qPos + qi] as number) >= (mask[o.kUntil + kj] as number)) return 0;
    if (p.hasDoc && mask[o.qDoc + qi] !== mask[o.kDoc + kj]) return 0;
    if (!p.anchorMode || mask[o.qSeg + qi] === mask[o.kSeg + kj]) return 1;
    if (mask[o.kAnchor + kj] !== 0 && mask[o.qAnchor + qi] === 0) return 2;
    if (p.bosVisible && kp === 0) return 3;
    return 0;
  };
}

/** allowed(b, i, j) over the packed mask (layout in attention.layout.ts). */
export function maskRule(
  p: AttentionParams,
  mask: Int32Array,
): (b: number, i: number, j: number) => boolean {
  const cls = maskClass(p, mask);
  return (b, i, j) => cls(b, i, j) !== 0;
}

/**
 * Walkers over the compact structure in the kernels' order: `keys(b, i, fn)` calls fn(j) for every
 * key query i may see (BOS list, anchor list, own segment) and returns how many keys it visited;
 * `queries(b, j, fn)` calls fn(i) for every query that may see key j (own segment, then the
 * anchor/BOS range) and returns how many queries it visited.
 */
export function structureWalkers(p: AttentionParams, mask: Int32Array) {
  const o = maskOffsets(p.batch * p.lq, p.batch * p.lk);
  const cls = maskClass(p, mask);
  const at = (name: keyof typeof o, t: number) => mask[o[name] + t] as number;
  const keys = (b: number, i: number, fn: (j: number) => void): number => {
    const t = b * p.lq + i;
    let visited = 0;
    const list = (name: "bosKeys" | "anchorKeys", lo: number, hi: number, want: number) => {
      for (let x = lo; x < hi; x++, visited++) {
        const j = at(name, b * p.lk + x);
        if (cls(b, i, j) === want) fn(j);
      }
    };
    list("bosKeys", at("qBosLo", t), at("qBosHi", t), 3);
    list("anchorKeys", at("qAncLo", t), at("qAncHi", t), 2);
    for (let j = at("qSegLo", t); j < at("qSegHi", t); j++, visited++)
      if (cls(b, i, j) === 1) fn(j);
    return visited;
  };
  const queries = (b: number, j: number, fn: (i: number) => void): number => {
    const t = b * p.lk + j;
    let visited = 0;
    for (let i = at("kSegLo", t); i < at("kSegHi", t); i++, visited++)
      if (cls(b, i, j) === 1) fn(i);
    for (let i = at("kOtherLo", t); i < at("kOtherHi", t); i++, visited++) {
      const c = cls(b, i, j);
      if (c === 2 || c === 3) fn(i);
    }
    return visited;
  };
  return { keys, queries };
}

/**
 * Work of the kernels on this mask, per head: the (query, key) pairs visited from the query side
 * (forward, dQ) and the key side (dK/dV), next to the pairs the rule allows (a dense count).
 */
export function attentionVisits(
  p: AttentionParams,
  mask: Int32Array,
): { allowed: number; queryVisits: number; keyVisits: number; queryHits: number; keyHits: number } {
  const rule = maskRule(p, mask);
  const w = structureWalkers(p, mask);
  let allowed = 0;
  let queryVisits = 0;
  let keyVisits = 0;
  let queryHits = 0;
  let keyHits = 0;
  for (let b = 0; b < p.batch; b++) {
    for (let i = 0; i < p.lq; i++) {
      for (let j = 0; j < p.lk; j++) allowed += +rule(b, i, j);
      queryVisits += w.keys(b, i, () => queryHits++);
    }
    for (let j = 0; j < p.lk; j++) keyVisits += w.queries(b, j, () => keyHits++);
  }
  return { allowed, queryVisits, keyVisits, queryHits, keyHits };
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
  const walk = structureWalkers(p, mask);
  const hd = p.headDim;
  const keys = new Int32Array(p.lk);
  const scores = new Float64Array(p.lk);
  for (let r = 0; r < p.batch * p.nHeads * p.lq; r++) {
    const { b, i, kBase } = queryRow(p, r);
    // scores of the allowed keys, then a stable softmax
    let n = 0;
    walk.keys(b, i, (j) => {
      keys[n++] = j;
    });
    let m = Number.NEGATIVE_INFINITY;
    for (let x = 0; x < n; x++) {
      scores[x] = dot(q, r * hd, k, kBase + (keys[x] as number) * hd, hd) * p.scale;
      m = Math.max(m, scores[x] as number);
    }
    let l = 0;
    for (let x = 0; x < n; x++) l += Math.exp((scores[x] as number) - m);
    for (let d = 0; d < hd; d++) {
      let acc = 0;
      for (let x = 0; x < n; x++)
        acc +=
          Math.exp((scores[x] as number) - m) * (v[kBase + (keys[x] as number) * hd + d] as number);
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
  const walk = structureWalkers(p, mask);
  const hd = p.headDim;
  for (let r = 0; r < p.batch * p.nHeads * p.lq; r++) {
    const { b, i, kBase } = queryRow(p, r);
    dq.fill(0, r * hd, (r + 1) * hd);
    walk.keys(b, i, (j) => {
      // ds = p * (dO.v - D)
      const prob = Math.exp(dot(q, r * hd, k, kBase + j * hd, hd) * p.scale - (lse[r] as number));
      const ds = prob * (dot(dout, r * hd, v, kBase + j * hd, hd) - (dsum[r] as number));
      for (let d = 0; d < hd; d++)
        dq[r * hd + d] =
          (dq[r * hd + d] as number) + ds * (k[kBase + j * hd + d] as number) * p.scale;
    });
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
  const walk = structureWalkers(p, mask);
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
      walk.queries(b, j, (i) => {
        const qr = (b * p.nHeads + h) * p.lq + i;
        const prob = Math.exp(dot(q, qr * hd, k, r * hd, hd) * p.scale - (lse[qr] as number));
        const ds = prob * (dot(dout, qr * hd, v, r * hd, hd) - (dsum[qr] as number)) * p.scale;
        for (let d = 0; d < hd; d++) {
          dv[r * hd + d] = (dv[r * hd + d] as number) + prob * (dout[qr * hd + d] as number);
          dk[r * hd + d] = (dk[r * hd + d] as number) + ds * (q[qr * hd + d] as number);
        }
      });
    }
  }
}
