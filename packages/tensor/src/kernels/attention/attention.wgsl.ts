// WGSL of the anchor attention: the mask is evaluated per (query, key) pair from per-token arrays
// (positions, segment ids, anchor flags, document ids, key validity); disallowed keys are skipped
// without any dot product. Forward: online softmax per query row. Backward: dQ per query row,
// dK/dV per key row (no atomics). Each invocation takes `nr` adjacent rows of one head, sharing
// the key (forward, dQ) or query (dK/dV) loads and mask lookups between them.
import { attentionLayoutWgsl } from "./attention.layout";

/** Workgroup size of the attention kernels. */
export const ATTN_WG = 64;

/** Rows (queries, or keys in dK/dV) per invocation on software adapters. */
export const ATTN_ROWS_SOFTWARE = 2;

/** Smallest supported register row (headDim rounded up to a power of two). */
export function headDimMax(hd: number): number {
  let m = 16;
  while (m < hd) m *= 2;
  return m;
}

/** Constants, parameters, token records, the mask rule and span lookups of every attention kernel. */
export const COMMON = (nr: number, hdm?: number) => /* wgsl */ `
const WG: u32 = ${ATTN_WG}u;
${hdm === undefined ? "" : `const HDM: u32 = ${hdm}u;`}
const NR: u32 = ${nr}u;
${attentionLayoutWgsl()}
struct Tok { pos: i32, seg: i32, anchor: i32, doc: i32, valid: i32 }
fn tokQ(b: u32, i: u32) -> Tok {
  let t = b * attnParams().lq + i;
  return Tok(qPosAt(t), qSegAt(t), qAnchorAt(t), qDocAt(t), 1);
}
fn tokK(b: u32, j: u32) -> Tok {
  let t = b * attnParams().lk + j;
  return Tok(kPosAt(t), kSegAt(t), kAnchorAt(t), kDocAt(t), kValidAt(t));
}
// the attention rule (apps/docs/guide/method.md) for one query / key pair
fn rule(q: Tok, k: Tok) -> bool {
  let P = attnParams();
  if (k.valid == 0 || k.pos > q.pos) { return false; }
  if (P.hasDoc && q.doc != k.doc) { return false; }
  if (!P.anchorMode) { return true; }
  if (P.bosVisible && k.pos == 0) { return true; }
  if (q.seg == k.seg) { return true; }
  return k.anchor != 0 && q.anchor == 0;
}
// [lo, hi) of keys a query may see (k = 0) or of queries that may see a key (k = 1): outside it
// every pair is blocked, so whole blocks of the L x L plane are never visited
fn span(k: u32, b: u32, t: u32) -> vec2<u32> {
  let P = attnParams();
  if (k == 0u) {
    let q = b * P.lq + t;
    return vec2<u32>(u32(qSpanLoAt(q)), u32(qSpanHiAt(q)));
  }
  let kt = b * P.lk + t;
  return vec2<u32>(u32(kSpanLoAt(kt)), u32(kSpanHiAt(kt)));
}`;

const HEAD = /* wgsl */ `
  let tid = gid.x + gid.y * nwg.x * WG;
  let nthreads = nwg.x * nwg.y * WG;
  let P = attnParams();
  let B = P.batch; let H = P.nHeads; let KV = P.nKvHeads; let Lq = P.lq; let Lk = P.lk;
  let hd = P.headDim; let scale = P.scale;
  let group = H / KV;`;

const ENTRY = /* wgsl */ `@compute @workgroup_size(${ATTN_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`;

/** Shader options: register row size, constant loop bound (headDim == hdm), rows per invocation. */
export interface AttnShape {
  hdm: number;
  exact: boolean;
  nr: number;
}

/** Per-kernel parts of the query-row kernels (forward, dQ); `L` is the head-dim loop bound. */
interface QueryRowParts {
  /** Private arrays besides qt/live. */
  vars: string;
  /** Per row n (row index r, live[n] set): load and initialise. */
  init: (L: string) => string;
  /** Per allowed (row n, key j) pair, with kr/vr holding K and V row j. */
  pair: (L: string) => string;
  /** Per live row n (row index r): store. */
  store: (L: string) => string;
}

/**
 * Skeleton shared by the forward and dQ kernels: NR adjacent query rows of one head per
 * invocation, one loop over the union of their key spans loading each allowed K/V row once.
 */
function queryRowsWgsl(decls: string, o: AttnShape, parts: QueryRowParts): string {
  const L = o.exact ? "HDM" : "hd";
  return /* wgsl */ `${decls}
${COMMON(o.nr, o.hdm)}
${ENTRY}
${HEAD}
  let nb = (Lq + NR - 1u) / NR;
  for (var t = tid; t < B * H * nb; t += nthreads) {
    let bh = t / nb; let i0 = (t % nb) * NR; let b = bh / H; let h = bh % H;
    let kBase = (b * KV + h / group) * Lk * hd;
    ${parts.vars}
    var qt: array<Tok, NR>; var live: array<bool, NR>;
    var lo = Lk; var hi = 0u;
    for (var n = 0u; n < NR; n++) {
      let i = i0 + n; live[n] = i < Lq;
      let r = select(bh * Lq, bh * Lq + i, live[n]);
      ${parts.init(L)}
      if (live[n]) { qt[n] = tokQ(b, i); let sp = span(0u, b, i); lo = min(lo, sp.x); hi = max(hi, sp.y); }
    }
    for (var j = lo; j < hi; j++) {
      let kt = tokK(b, j);
      var ok: array<bool, NR>; var any = false;
      for (var n = 0u; n < NR; n++) { ok[n] = live[n] && rule(qt[n], kt); any = any || ok[n]; }
      if (!any) { continue; }
      var kr: array<f32, HDM>; var vr: array<f32, HDM>;
      for (var d = 0u; d < ${L}; d++) { kr[d] = ld_k(kBase + j * hd + d); vr[d] = ld_v(kBase + j * hd + d); }
      for (var n = 0u; n < NR; n++) {
        if (!ok[n]) { continue; }
        ${parts.pair(L)}
      }
    }
    for (var n = 0u; n < NR; n++) {
      if (!live[n]) { continue; }
      let r = bh * Lq + i0 + n;
      ${parts.store(L)}
    }
  }
}`;
}

/** Bindings q, k, v, mask, out, lse. */
export function attentionWgsl(decls: string, o: AttnShape): string {
  return queryRowsWgsl(decls, o, {
    vars: `var qv: array<array<f32, HDM>, NR>;
    var acc: array<array<f32, HDM>, NR>;
    var m: array<f32, NR>; var l: array<f32, NR>;`,
    init: (L) => `m[n] = ninf_(); l[n] = 0.0;
      for (var d = 0u; d < ${L}; d++) { qv[n][d] = ld_q(r * hd + d) * scale; acc[n][d] = 0.0; }`,
    pair: (L) => `var s = 0.0;
        for (var d = 0u; d < ${L}; d++) { s += qv[n][d] * kr[d]; }
        if (s > m[n]) {
          let c = exp(m[n] - s);
          l[n] *= c;
          for (var d = 0u; d < ${L}; d++) { acc[n][d] *= c; }
          m[n] = s;
        }
        let p = exp(s - m[n]);
        l[n] += p;
        for (var d = 0u; d < ${L}; d++) { acc[n][d] += p * vr[d]; }`,
    store: (L) => `let inv = select(0.0, 1.0 / l[n], l[n] > 0.0);
      for (var d = 0u; d < ${L}; d++) { st_out(r * hd + d, acc[n][d] * inv); }
      st_lse(r, select(0.0, m[n] + log(l[n]), l[n] > 0.0));`,
  });
}

/** Bindings q, k, v, mask, dout, lse, dsum (rowwise dO.O), dq. */
export function attentionDqWgsl(decls: string, o: AttnShape): string {
  return queryRowsWgsl(decls, o, {
    vars: `var qv: array<array<f32, HDM>, NR>;
    var dov: array<array<f32, HDM>, NR>;
    var dq: array<array<f32, HDM>, NR>;
    var lse: array<f32, NR>; var D: array<f32, NR>;`,
    init: (L) => `for (var d = 0u; d < ${L}; d++) {
        qv[n][d] = ld_q(r * hd + d) * scale; dov[n][d] = ld_dout(r * hd + d); dq[n][d] = 0.0;
      }
      lse[n] = ld_lse(r); D[n] = ld_dsum(r);`,
    pair: (L) => `var s = 0.0; var dp = 0.0;
        for (var d = 0u; d < ${L}; d++) { s += qv[n][d] * kr[d]; dp += dov[n][d] * vr[d]; }
        let ds = exp(s - lse[n]) * (dp - D[n]);
        for (var d = 0u; d < ${L}; d++) { dq[n][d] += ds * kr[d]; }`,
    store: (L) => `for (var d = 0u; d < ${L}; d++) { st_dq(r * hd + d, dq[n][d] * scale); }`,
  });
}

/** Bindings q, k, v, mask, dout, lse, dsum, dk, dv: each invocation takes NR key rows. */
export function attentionDkvWgsl(decls: string, o: AttnShape): string {
  const L = o.exact ? "HDM" : "hd";
  return /* wgsl */ `${decls}
${COMMON(o.nr, o.hdm)}
${ENTRY}
${HEAD}
  let nb = (Lk + NR - 1u) / NR;
  for (var t = tid; t < B * KV * nb; t += nthreads) {
    let bk = t / nb; let j0 = (t % nb) * NR; let b = bk / KV; let kvh = bk % KV;
    var kk: array<array<f32, HDM>, NR>;
    var vv: array<array<f32, HDM>, NR>;
    var dk: array<array<f32, HDM>, NR>;
    var dv: array<array<f32, HDM>, NR>;
    var kt: array<Tok, NR>; var live: array<bool, NR>;
    var lo = Lq; var hi = 0u;
    for (var n = 0u; n < NR; n++) {
      let j = j0 + n; live[n] = j < Lk;
      let r = select(bk * Lk, bk * Lk + j, live[n]);
      for (var d = 0u; d < ${L}; d++) {
        kk[n][d] = ld_k(r * hd + d); vv[n][d] = ld_v(r * hd + d); dk[n][d] = 0.0; dv[n][d] = 0.0;
      }
      if (live[n]) { kt[n] = tokK(b, j); let sp = span(1u, b, j); lo = min(lo, sp.x); hi = max(hi, sp.y); }
    }
    // heads outside, queries inside: the same summation order as the CPU reference
    for (var hh = 0u; hh < group; hh++) {
      for (var i = lo; i < hi; i++) {
        let qt = tokQ(b, i);
        var ok: array<bool, NR>; var any = false;
        for (var n = 0u; n < NR; n++) { ok[n] = live[n] && rule(qt, kt[n]); any = any || ok[n]; }
        if (!any) { continue; }
        let qr = (b * H + kvh * group + hh) * Lq + i;
        var qr_: array<f32, HDM>; var or_: array<f32, HDM>;
        for (var d = 0u; d < ${L}; d++) { qr_[d] = ld_q(qr * hd + d); or_[d] = ld_dout(qr * hd + d); }
        let lse = ld_lse(qr); let D = ld_dsum(qr);
        for (var n = 0u; n < NR; n++) {
          if (!ok[n]) { continue; }
          var s = 0.0; var dp = 0.0;
          for (var d = 0u; d < ${L}; d++) { s += qr_[d] * kk[n][d]; dp += or_[d] * vv[n][d]; }
          let p = exp(s * scale - lse);
          let ds = p * (dp - D) * scale;
          for (var d = 0u; d < ${L}; d++) { dv[n][d] += p * or_[d]; dk[n][d] += ds * qr_[d]; }
        }
      }
    }
    for (var n = 0u; n < NR; n++) {
      if (!live[n]) { continue; }
      let r = bk * Lk + j0 + n;
      for (var d = 0u; d < ${L}; d++) { st_dk(r * hd + d, dk[n][d]); st_dv(r * hd + d, dv[n][d]); }
    }
  }
}`;
}
