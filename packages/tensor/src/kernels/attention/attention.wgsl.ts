// WGSL of the anchor attention: the mask is evaluated per (query, key) pair from per-token arrays
// (positions, segment ids, anchor flags, document ids, key validity); disallowed keys are skipped
// without any dot product. Forward: online softmax per query row. Backward: dQ per query row,
// dK/dV per key row (no atomics).

/** Workgroup size of the attention kernels. */
export const ATTN_WG = 64;

/** Smallest supported register row (headDim rounded up to a power of two). */
export function headDimMax(hd: number): number {
  let m = 16;
  while (m < hd) m *= 2;
  return m;
}

const COMMON = (hdm: number) => /* wgsl */ `
const WG: u32 = ${ATTN_WG}u;
const HDM: u32 = ${hdm}u;
struct Tok { pos: i32, seg: i32, anchor: i32, doc: i32, valid: i32 }
fn tokQ(b: u32, i: u32) -> Tok {
  let nq = M(0u) * M(3u);
  let o = b * M(3u) + i;
  return Tok(ld_mask(o), ld_mask(o + nq), ld_mask(o + 2u * nq), ld_mask(o + 3u * nq), 1);
}
fn tokK(b: u32, j: u32) -> Tok {
  let nq = M(0u) * M(3u); let nk = M(0u) * M(4u);
  let o = 4u * nq + b * M(4u) + j;
  return Tok(ld_mask(o), ld_mask(o + nk), ld_mask(o + 2u * nk), ld_mask(o + 3u * nk), ld_mask(o + 4u * nk));
}
// the attention rule (anllm-method.md section 2) for one query / key pair
fn rule(q: Tok, k: Tok) -> bool {
  let flags = M(7u);
  if (k.valid == 0 || k.pos > q.pos) { return false; }
  if ((flags & 2u) != 0u && q.doc != k.doc) { return false; }
  if ((flags & 1u) == 0u) { return true; }
  if ((flags & 4u) != 0u && k.pos == 0) { return true; }
  if (q.seg == k.seg) { return true; }
  return k.anchor != 0 && q.anchor == 0;
}
// [lo, hi) of keys a query may see (k = 0) or of queries that may see a key (k = 1): outside it
// every pair is blocked, so whole blocks of the L x L plane are never visited
fn span(k: u32, b: u32, t: u32) -> vec2<u32> {
  let B = M(0u); let Lq = M(3u); let Lk = M(4u);
  let nq = B * Lq; let nk = B * Lk;
  let base = 4u * nq + 5u * nk;
  if (k == 0u) {
    let o = base + b * Lq + t;
    return vec2<u32>(u32(ld_mask(o)), u32(ld_mask(o + nq)));
  }
  let o = base + 2u * nq + b * Lk + t;
  return vec2<u32>(u32(ld_mask(o)), u32(ld_mask(o + nk)));
}`;

const HEAD = /* wgsl */ `
  let tid = gid.x + gid.y * nwg.x * WG;
  let nthreads = nwg.x * nwg.y * WG;
  let B = M(0u); let H = M(1u); let KV = M(2u); let Lq = M(3u); let Lk = M(4u); let hd = M(5u);
  let scale = Mf(6u);
  let group = H / KV;`;

const ENTRY = /* wgsl */ `@compute @workgroup_size(${ATTN_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`;

/** Bindings q, k, v, mask, out, lse. */
export function attentionWgsl(decls: string, hdm: number): string {
  return /* wgsl */ `${decls}
${COMMON(hdm)}
${ENTRY}
${HEAD}
  for (var r = tid; r < B * H * Lq; r += nthreads) {
    let i = r % Lq; let h = (r / Lq) % H; let b = r / (Lq * H);
    let kBase = (b * KV + h / group) * Lk * hd;
    var qv: array<f32, HDM>;
    var acc: array<f32, HDM>;
    for (var d = 0u; d < hd; d++) { qv[d] = ld_q(r * hd + d) * scale; acc[d] = 0.0; }
    var m = ninf_();
    var l = 0.0;
    let sp = span(0u, b, i);
    let qt = tokQ(b, i);
    for (var j = sp.x; j < sp.y; j++) {
      if (!rule(qt, tokK(b, j))) { continue; }
      var s = 0.0;
      for (var d = 0u; d < hd; d++) { s += qv[d] * ld_k(kBase + j * hd + d); }
      if (s > m) {
        let c = exp(m - s);
        l *= c;
        for (var d = 0u; d < hd; d++) { acc[d] *= c; }
        m = s;
      }
      let p = exp(s - m);
      l += p;
      for (var d = 0u; d < hd; d++) { acc[d] += p * ld_v(kBase + j * hd + d); }
    }
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d = 0u; d < hd; d++) { st_out(r * hd + d, acc[d] * inv); }
    st_lse(r, select(0.0, m + log(l), l > 0.0));
  }
}`;
}

/** Bindings q, k, v, mask, dout, lse, dsum (rowwise dO.O), dq. */
export function attentionDqWgsl(decls: string, hdm: number): string {
  return /* wgsl */ `${decls}
${COMMON(hdm)}
${ENTRY}
${HEAD}
  for (var r = tid; r < B * H * Lq; r += nthreads) {
    let i = r % Lq; let h = (r / Lq) % H; let b = r / (Lq * H);
    let kBase = (b * KV + h / group) * Lk * hd;
    var qv: array<f32, HDM>;
    var dov: array<f32, HDM>;
    var dq: array<f32, HDM>;
    for (var d = 0u; d < hd; d++) { qv[d] = ld_q(r * hd + d) * scale; dov[d] = ld_dout(r * hd + d); dq[d] = 0.0; }
    let lse = ld_lse(r); let D = ld_dsum(r);
    let sp = span(0u, b, i);
    let qt = tokQ(b, i);
    for (var j = sp.x; j < sp.y; j++) {
      if (!rule(qt, tokK(b, j))) { continue; }
      var s = 0.0; var dp = 0.0;
      for (var d = 0u; d < hd; d++) {
        s += qv[d] * ld_k(kBase + j * hd + d);
        dp += dov[d] * ld_v(kBase + j * hd + d);
      }
      let ds = exp(s - lse) * (dp - D);
      for (var d = 0u; d < hd; d++) { dq[d] += ds * ld_k(kBase + j * hd + d); }
    }
    for (var d = 0u; d < hd; d++) { st_dq(r * hd + d, dq[d] * scale); }
  }
}`;
}

/** Bindings q, k, v, mask, dout, lse, dsum, dk, dv: one thread per key row. */
export function attentionDkvWgsl(decls: string, hdm: number): string {
  return /* wgsl */ `${decls}
${COMMON(hdm)}
${ENTRY}
${HEAD}
  for (var r = tid; r < B * KV * Lk; r += nthreads) {
    let j = r % Lk; let kvh = (r / Lk) % KV; let b = r / (Lk * KV);
    var kk: array<f32, HDM>;
    var vv: array<f32, HDM>;
    var dk: array<f32, HDM>;
    var dv: array<f32, HDM>;
    for (var d = 0u; d < hd; d++) { kk[d] = ld_k(r * hd + d); vv[d] = ld_v(r * hd + d); dk[d] = 0.0; dv[d] = 0.0; }
    let sp = span(1u, b, j);
    let kt = tokK(b, j);
    for (var hh = 0u; hh < group; hh++) {
      let h = kvh * group + hh;
      for (var i = sp.x; i < sp.y; i++) {
        if (!rule(tokQ(b, i), kt)) { continue; }
        let qr = (b * H + h) * Lq + i;
        var s = 0.0; var dp = 0.0;
        for (var d = 0u; d < hd; d++) {
          s += ld_q(qr * hd + d) * kk[d];
          dp += ld_dout(qr * hd + d) * vv[d];
        }
        let p = exp(s * scale - ld_lse(qr));
        let ds = p * (dp - ld_dsum(qr)) * scale;
        for (var d = 0u; d < hd; d++) {
          dv[d] += p * ld_dout(qr * hd + d);
          dk[d] += ds * ld_q(qr * hd + d);
        }
      }
    }
    for (var d = 0u; d < hd; d++) { st_dk(r * hd + d, dk[d]); st_dv(r * hd + d, dv[d]); }
  }
}`;
}
