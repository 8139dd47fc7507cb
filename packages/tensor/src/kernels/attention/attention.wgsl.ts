// WGSL of the anchor attention: each query visits only its own segment's keys, the anchors before
// it and the BOS (the compact structure of attention.structure.ts), each key only the queries that
// may see it; every visited pair is still classified from the per-token arrays (positions,
// segment ids, anchor flags, document ids, key validity) and blocked pairs cost no dot product. Forward: online softmax per query row. Backward: dQ per query row,
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

/** Constants, parameters, token records, the pair classes and visit lists of every attention kernel. */
export const COMMON = (nr: number, hdm?: number) => /* wgsl */ `
const WG: u32 = ${ATTN_WG}u;
${hdm === undefined ? "" : `const HDM: u32 = ${hdm}u;`}
const NR: u32 = ${nr}u;
${attentionLayoutWgsl()}
struct Tok { pos: i32, seg: i32, anchor: i32, doc: i32, valid: i32, until: i32 }
fn tokQ(b: u32, i: u32) -> Tok {
  let t = b * attnParams().lq + i;
  return Tok(qPosAt(t), qSegAt(t), qAnchorAt(t), qDocAt(t), 1, 0);
}
fn tokK(b: u32, j: u32) -> Tok {
  let t = b * attnParams().lk + j;
  return Tok(kPosAt(t), kSegAt(t), kAnchorAt(t), kDocAt(t), kValidAt(t), kUntilAt(t));
}
// which list of the compact structure an allowed pair belongs to (attention.structure.ts's
// pairClass; apps/docs/guide/method.md): 0 blocked, 1 own segment (or causal), 2 anchor, 3 BOS
fn pairClass(q: Tok, k: Tok) -> u32 {
  let P = attnParams();
  if (k.valid == 0 || k.pos > q.pos || q.pos >= k.until) { return 0u; }
  if (P.hasDoc && q.doc != k.doc) { return 0u; }
  if (!P.anchorMode || q.seg == k.seg) { return 1u; }
  if (k.anchor != 0 && q.anchor == 0) { return 2u; }
  if (P.bosVisible && k.pos == 0) { return 3u; }
  return 0u;
}
// What a query visits: the BOS-list slice, the anchor-list slice, then its own segment's keys,
// numbered x = 0 .. n() - 1 in that order, as one loop (one loop body keeps the unrolled kernels'
// compile time down). Ranges of NR rows are merged (empty ones ignored); each row still accepts
// only the pairs of the list's class, so no pair is counted twice.
struct KeyVisits { bos: vec2<u32>, anc: vec2<u32>, seg: vec2<u32> }
fn merge(a: vec2<u32>, lo: i32, hi: i32) -> vec2<u32> {
  if (hi <= lo) { return a; }
  if (a.y <= a.x) { return vec2<u32>(u32(lo), u32(hi)); }
  return vec2<u32>(min(a.x, u32(lo)), max(a.y, u32(hi)));
}
fn noVisits() -> KeyVisits { return KeyVisits(vec2<u32>(0u), vec2<u32>(0u), vec2<u32>(0u)); }
fn addQuery(v: KeyVisits, b: u32, i: u32) -> KeyVisits {
  let t = b * attnParams().lq + i;
  return KeyVisits(merge(v.bos, qBosLoAt(t), qBosHiAt(t)), merge(v.anc, qAncLoAt(t), qAncHiAt(t)),
    merge(v.seg, qSegLoAt(t), qSegHiAt(t)));
}
fn len2(r: vec2<u32>) -> u32 { return select(0u, r.y - r.x, r.y > r.x); }
fn nKeyVisits(v: KeyVisits) -> u32 { return len2(v.bos) + len2(v.anc) + len2(v.seg); }
// key index and the class a row must have with it, of visit x
fn keyVisit(v: KeyVisits, b: u32, x: u32) -> vec2<u32> {
  let base = b * attnParams().lk;
  let nb = len2(v.bos); let na = len2(v.anc);
  if (x < nb) { return vec2<u32>(u32(bosKeysAt(base + v.bos.x + x)), 3u); }
  if (x < nb + na) { return vec2<u32>(u32(anchorKeysAt(base + v.anc.x + x - nb)), 2u); }
  return vec2<u32>(v.seg.x + x - nb - na, 1u);
}
// What a key visits: the queries of its own segment (class 1), then its anchor/BOS range (2, 3)
struct QueryVisits { seg: vec2<u32>, other: vec2<u32> }
fn noQueryVisits() -> QueryVisits { return QueryVisits(vec2<u32>(0u), vec2<u32>(0u)); }
fn addKey(v: QueryVisits, b: u32, j: u32) -> QueryVisits {
  let t = b * attnParams().lk + j;
  return QueryVisits(merge(v.seg, kSegLoAt(t), kSegHiAt(t)), merge(v.other, kOtherLoAt(t), kOtherHiAt(t)));
}
fn nQueryVisits(v: QueryVisits) -> u32 { return len2(v.seg) + len2(v.other); }
// query index of visit x and whether the pass wants class 1 (else 2 or 3)
fn queryVisit(v: QueryVisits, x: u32) -> vec2<u32> {
  let ns = len2(v.seg);
  if (x < ns) { return vec2<u32>(v.seg.x + x, 1u); }
  return vec2<u32>(v.other.x + x - ns, 2u);
}
// key row of dK/dV slot x: the keys that see a document's later queries (anchors, BOS) come first,
// so that long and short key rows do not share a SIMD group (attention.structure.ts, keyOrder)
fn keySlot(b: u32, x: u32) -> u32 { return u32(keyOrderAt(b * attnParams().lk + x)); }
// whether a pair of class c counts in a pass over queries that wants class w (1, or 2 = 2|3)
fn wantsQuery(c: u32, w: u32) -> bool { return select(c >= 2u, c == 1u, w == 1u); }`;

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
 * invocation, one loop over their merged visit lists loading each visited K/V row once.
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
    var vis = noVisits();
    for (var n = 0u; n < NR; n++) {
      let i = i0 + n; live[n] = i < Lq;
      let r = select(bh * Lq, bh * Lq + i, live[n]);
      ${parts.init(L)}
      if (live[n]) { qt[n] = tokQ(b, i); vis = addQuery(vis, b, i); }
    }
    let nv = nKeyVisits(vis);
    for (var x = 0u; x < nv; x++) {
      let jc = keyVisit(vis, b, x); let j = jc.x;
      let kt = tokK(b, j);
      var ok: array<bool, NR>; var any = false;
      for (var n = 0u; n < NR; n++) { ok[n] = live[n] && pairClass(qt[n], kt) == jc.y; any = any || ok[n]; }
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
    var vis = noQueryVisits();
    var rows: array<u32, NR>;
    for (var n = 0u; n < NR; n++) {
      live[n] = j0 + n < Lk;
      let j = keySlot(b, select(0u, j0 + n, live[n]));
      let r = bk * Lk + j; rows[n] = r;
      for (var d = 0u; d < ${L}; d++) {
        kk[n][d] = ld_k(r * hd + d); vv[n][d] = ld_v(r * hd + d); dk[n][d] = 0.0; dv[n][d] = 0.0;
      }
      if (live[n]) { kt[n] = tokK(b, j); vis = addKey(vis, b, j); }
    }
    let nv = nQueryVisits(vis);
    // heads outside, queries inside: the same summation order as the CPU reference
    for (var hh = 0u; hh < group; hh++) {
      for (var x = 0u; x < nv; x++) {
        let iw = queryVisit(vis, x); let i = iw.x;
        let qt = tokQ(b, i);
        var ok: array<bool, NR>; var any = false;
        for (var n = 0u; n < NR; n++) { ok[n] = live[n] && wantsQuery(pairClass(qt, kt[n]), iw.y); any = any || ok[n]; }
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
      let r = rows[n];
      for (var d = 0u; d < ${L}; d++) { st_dk(r * hd + d, dk[n][d]); st_dv(r * hd + d, dv[n][d]); }
    }
  }
}`;
}
