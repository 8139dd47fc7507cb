// Hardware-GPU variants of the attention kernels, FlashAttention-style: a workgroup owns a block
// of ATTN_WG query rows of one head (forward, dQ) or key rows of one kv head (dK/dV), one row per
// invocation. The block's visit lists (attention.structure.ts: BOS slice, anchor slice, own
// segment; for keys, own segment and anchor/BOS range) are merged once, and the visited keys (or
// queries) are staged TILE at a time in workgroup memory: the anchor keys of the list come
// gathered into dense tiles, and keys (queries) the mask never lets the block see are never
// loaded. Online softmax with f32 accumulation. Chosen for non-software adapters; tests force it
// on the software adapter.
import { headDimMax } from "./attention.wgsl";

/** Workgroup-memory budget of the two staged tiles (K and V, or Q and dO), in bytes. */
const TILE_BYTES = 12 * 1024;

/** Rows staged per tile for a register row of `hdm` floats (a power of two in [4, 64]). */
export function tileRows(hdm: number): number {
  let t = 64;
  while (t > 4 && 2 * t * hdm * 4 > TILE_BYTES) t /= 2;
  return t;
}

/** Shape baked into a tiled kernel: register row (power of two >= headDim), tile rows. */
export interface TiledShape {
  hdm: number;
  exact: boolean;
  tile: number;
}

export function tiledShape(headDim: number): TiledShape {
  const hdm = headDimMax(headDim);
  return { hdm, exact: hdm === headDim, tile: tileRows(hdm) };
}

/** Entry point, block decoding and the merged visits shared by the three kernels. */
function prelude(common: string, o: TiledShape, rowsOf: "Lq" | "Lk", heads: "H" | "KV"): string {
  return /* wgsl */ `${common}
const TILE: u32 = ${o.tile}u;
var<workgroup> wTok: array<Tok, TILE>;
var<workgroup> wIdx: array<u32, TILE>;
var<workgroup> wCls: array<u32, TILE>;
var<workgroup> wA: array<f32, ${o.tile * o.hdm}>;
var<workgroup> wB: array<f32, ${o.tile * o.hdm}>;
fn mergeRange(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  if (b.y <= b.x) { return a; }
  if (a.y <= a.x) { return b; }
  return vec2<u32>(min(a.x, b.x), max(a.y, b.y));
}
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32) {
  let P = attnParams();
  let B = P.batch; let H = P.nHeads; let KV = P.nKvHeads; let Lq = P.lq; let Lk = P.lk;
  let hd = P.headDim; let scale = P.scale; let group = H / KV;
  let nBlocks = (${rowsOf} + WG - 1u) / WG;
  let blk = wid.x + wid.y * nwg.x;
  // whole workgroups leave together (blk is uniform), before any barrier
  if (blk >= B * ${heads} * nBlocks) { return; }
  let bh = blk / nBlocks; let row0 = (blk % nBlocks) * WG; let b = bh / ${heads};
  run(b, bh, row0, lid);
}`;
}

/** Query-block kernels (forward, dQ): per tile of visited keys, K and V rows in wA / wB. */
function queryBlockWgsl(
  decls: string,
  common: string,
  o: TiledShape,
  parts: {
    vars: string;
    init: (L: string) => string;
    pair: (L: string) => string;
    store: (L: string) => string;
  },
): string {
  const L = o.exact ? "HDM" : "hd";
  return /* wgsl */ `${decls}
${prelude(common, o, "Lq", "H")}
var<workgroup> wVis: array<KeyVisits, WG>;
var<workgroup> wMerged: KeyVisits;
fn run(b: u32, bh: u32, row0: u32, lid: u32) {
  let P = attnParams();
  let H = P.nHeads; let KV = P.nKvHeads; let Lq = P.lq; let Lk = P.lk;
  let hd = P.headDim; let scale = P.scale; let group = H / KV;
  let h = bh % H;
  let kBase = (b * KV + h / group) * Lk * hd;
  let i = row0 + lid; let live = i < Lq;
  let r = select(bh * Lq, bh * Lq + i, live);
  ${parts.vars}
  ${parts.init(L)}
  let qt = tokQ(b, select(0u, i, live));
  var mine = noVisits();
  if (live) { mine = addQuery(mine, b, i); }
  wVis[lid] = mine;
  workgroupBarrier();
  if (lid == 0u) {
    var all = noVisits();
    for (var n = 0u; n < WG; n++) {
      let v = wVis[n];
      all = KeyVisits(mergeRange(all.bos, v.bos), mergeRange(all.anc, v.anc), mergeRange(all.seg, v.seg));
    }
    wMerged = all;
  }
  let vis = workgroupUniformLoad(&wMerged);
  let nv = nKeyVisits(vis);
  for (var x0 = 0u; x0 < nv; x0 += TILE) {
    let cnt = min(TILE, nv - x0);
    if (lid < cnt) {
      let jc = keyVisit(vis, b, x0 + lid);
      wIdx[lid] = jc.x; wCls[lid] = jc.y; wTok[lid] = tokK(b, jc.x);
    }
    workgroupBarrier();
    for (var e = lid; e < cnt * hd; e += WG) {
      let c = e / hd; let d = e % hd; let src = kBase + wIdx[c] * hd + d;
      wA[c * HDM + d] = ld_k(src); wB[c * HDM + d] = ld_v(src);
    }
    workgroupBarrier();
    if (live) {
      for (var c = 0u; c < cnt; c++) {
        if (pairClass(qt, wTok[c]) != wCls[c]) { continue; }
        ${parts.pair(L)}
      }
    }
    workgroupBarrier();
  }
  if (live) {
    ${parts.store(L)}
  }
}`;
}

/** Bindings q, k, v, mask, out, lse (f32). */
export function attentionTiledWgsl(decls: string, common: string, o: TiledShape): string {
  return queryBlockWgsl(decls, common, o, {
    vars: `var qv: array<f32, HDM>; var acc: array<f32, HDM>; var m = ninf_(); var l = 0.0;`,
    init: (L) =>
      `for (var d = 0u; d < ${L}; d++) { qv[d] = ld_q(r * hd + d) * scale; acc[d] = 0.0; }`,
    pair: (L) => `var s = 0.0;
        for (var d = 0u; d < ${L}; d++) { s += qv[d] * wA[c * HDM + d]; }
        if (s > m) {
          let cc = exp(m - s);
          l *= cc;
          for (var d = 0u; d < ${L}; d++) { acc[d] *= cc; }
          m = s;
        }
        let p = exp(s - m);
        l += p;
        for (var d = 0u; d < ${L}; d++) { acc[d] += p * wB[c * HDM + d]; }`,
    store: (L) => `let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d = 0u; d < ${L}; d++) { st_out(r * hd + d, acc[d] * inv); }
    st_lse(r, select(0.0, m + log(l), l > 0.0));`,
  });
}

/** Bindings q, k, v, mask, dout, lse, dsum, dq (f32). */
export function attentionDqTiledWgsl(decls: string, common: string, o: TiledShape): string {
  return queryBlockWgsl(decls, common, o, {
    vars: `var qv: array<f32, HDM>; var dov: array<f32, HDM>; var dq: array<f32, HDM>;`,
    init: (L) => `for (var d = 0u; d < ${L}; d++) {
    qv[d] = ld_q(r * hd + d) * scale; dov[d] = ld_dout(r * hd + d); dq[d] = 0.0;
  }
  let lse = ld_lse(r); let D = ld_dsum(r);`,
    pair: (L) => `var s = 0.0; var dp = 0.0;
        for (var d = 0u; d < ${L}; d++) { s += qv[d] * wA[c * HDM + d]; dp += dov[d] * wB[c * HDM + d]; }
        let ds = exp(s - lse) * (dp - D);
        for (var d = 0u; d < ${L}; d++) { dq[d] += ds * wA[c * HDM + d]; }`,
    store: (L) => `for (var d = 0u; d < ${L}; d++) { st_dq(r * hd + d, dq[d] * scale); }`,
  });
}

/**
 * Bindings q, k, v, mask, dout, lse, dsum, dk, dv (f32): a workgroup owns ATTN_WG key slots
 * (rows keyOrder[slot]) of one kv head; per head of the group, tiles of visited queries bring
 * their Q and dO rows, log-sum-exp and D into workgroup memory.
 */
export function attentionDkvTiledWgsl(decls: string, common: string, o: TiledShape): string {
  const L = o.exact ? "HDM" : "hd";
  return /* wgsl */ `${decls}
${prelude(common, o, "Lk", "KV")}
var<workgroup> wVis: array<QueryVisits, WG>;
var<workgroup> wMerged: QueryVisits;
var<workgroup> wLse: array<f32, TILE>;
var<workgroup> wD: array<f32, TILE>;
fn run(b: u32, bk: u32, row0: u32, lid: u32) {
  let P = attnParams();
  let H = P.nHeads; let KV = P.nKvHeads; let Lq = P.lq; let Lk = P.lk;
  let hd = P.headDim; let scale = P.scale; let group = H / KV;
  let kvh = bk % KV;
  let live = row0 + lid < Lk;
  let j = keySlot(b, select(0u, row0 + lid, live));
  let r = bk * Lk + j;
  var kk: array<f32, HDM>; var vv: array<f32, HDM>; var dk: array<f32, HDM>; var dv: array<f32, HDM>;
  for (var d = 0u; d < ${L}; d++) { kk[d] = ld_k(r * hd + d); vv[d] = ld_v(r * hd + d); dk[d] = 0.0; dv[d] = 0.0; }
  let kt = tokK(b, j);
  var mine = noQueryVisits();
  if (live) { mine = addKey(mine, b, j); }
  wVis[lid] = mine;
  workgroupBarrier();
  if (lid == 0u) {
    var all = noQueryVisits();
    for (var n = 0u; n < WG; n++) {
      let v = wVis[n];
      all = QueryVisits(mergeRange(all.seg, v.seg), mergeRange(all.other, v.other));
    }
    wMerged = all;
  }
  let vis = workgroupUniformLoad(&wMerged);
  let nv = nQueryVisits(vis);
  // heads outside, queries inside: the same summation order as the CPU reference
  for (var hh = 0u; hh < group; hh++) {
    let qBase = (b * H + kvh * group + hh) * Lq;
    for (var x0 = 0u; x0 < nv; x0 += TILE) {
      let cnt = min(TILE, nv - x0);
      if (lid < cnt) {
        let iw = queryVisit(vis, x0 + lid);
        wIdx[lid] = iw.x; wCls[lid] = iw.y; wTok[lid] = tokQ(b, iw.x);
        wLse[lid] = ld_lse(qBase + iw.x); wD[lid] = ld_dsum(qBase + iw.x);
      }
      workgroupBarrier();
      for (var e = lid; e < cnt * hd; e += WG) {
        let c = e / hd; let d = e % hd; let src = (qBase + wIdx[c]) * hd + d;
        wA[c * HDM + d] = ld_q(src); wB[c * HDM + d] = ld_dout(src);
      }
      workgroupBarrier();
      if (live) {
        for (var c = 0u; c < cnt; c++) {
          if (!wantsQuery(pairClass(wTok[c], kt), wCls[c])) { continue; }
          var s = 0.0; var dp = 0.0;
          for (var d = 0u; d < ${L}; d++) { s += wA[c * HDM + d] * kk[d]; dp += wB[c * HDM + d] * vv[d]; }
          let p = exp(s * scale - wLse[c]);
          let ds = p * (dp - wD[c]) * scale;
          for (var d = 0u; d < ${L}; d++) { dv[d] += p * wB[c * HDM + d]; dk[d] += ds * wA[c * HDM + d]; }
        }
      }
      workgroupBarrier();
    }
  }
  if (live) {
    for (var d = 0u; d < ${L}; d++) { st_dk(r * hd + d, dk[d]); st_dv(r * hd + d, dv[d]); }
  }
}`;
}
