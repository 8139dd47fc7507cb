// Column sums of the attention probabilities, per KV head: colSums[b, kvh, j] = sum over the query
// heads h of the group and the queries i that may see key j of exp(q_i . k_j * scale - lse[b, h, i]),
// the attention key j received (H2O's heavy-hitter score). A separate pass after the forward of any
// kernel family (it reads the forward's log-sum-exp), walking each key's queries like dK/dV, so the
// forward kernels stay as they are.
import { type KernelDef, strideGroups } from "../kernel";
import { attentionMeta } from "./attention.layout";
import { type AttentionParams, structureWalkers } from "./attention.ref";
import { ATTN_WG, COMMON, headDimMax } from "./attention.wgsl";

/** Bindings q, k, mask, lse, colSums: one invocation per (batch, KV head, key). */
function attentionColumnSumsWgsl(decls: string, hdm: number): string {
  return /* wgsl */ `${decls}
${COMMON(1, hdm)}
@compute @workgroup_size(${ATTN_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = gid.x + gid.y * nwg.x * WG;
  let nthreads = nwg.x * nwg.y * WG;
  let P = attnParams();
  let H = P.nHeads; let KV = P.nKvHeads; let Lq = P.lq; let Lk = P.lk; let hd = P.headDim;
  let group = H / KV;
  for (var r = tid; r < P.batch * KV * Lk; r += nthreads) {
    let j = r % Lk; let bk = r / Lk; let b = bk / KV; let kvh = bk % KV;
    var kr: array<f32, HDM>;
    for (var d = 0u; d < hd; d++) { kr[d] = ld_k(r * hd + d); }
    let kt = tokK(b, j);
    let vis = addKey(noQueryVisits(), b, j);
    let nv = nQueryVisits(vis);
    var acc = 0.0;
    // heads outside, queries inside: the CPU reference's order
    for (var hh = 0u; hh < group; hh++) {
      for (var x = 0u; x < nv; x++) {
        let iw = queryVisit(vis, x); let i = iw.x;
        if (!wantsQuery(pairClass(tokQ(b, i), kt), iw.y)) { continue; }
        let qr = (b * H + kvh * group + hh) * Lq + i;
        var s = 0.0;
        for (var d = 0u; d < hd; d++) { s += ld_q(qr * hd + d) * kr[d]; }
        acc += exp(s * P.scale - ld_lse(qr));
      }
    }
    st_colSums(r, acc);
  }
}`;
}

/** CPU reference; arrays = [q, k, mask, lse, colSums]. */
export function attentionColumnSumsRef(
  p: AttentionParams,
  arrays: [Float32Array, Float32Array, Int32Array, Float32Array, Float32Array],
): void {
  const [q, k, mask, lse, out] = arrays;
  const walk = structureWalkers(p, mask);
  const hd = p.headDim;
  const group = p.nHeads / p.nKvHeads;
  for (let r = 0; r < p.batch * p.nKvHeads * p.lk; r++) {
    const j = r % p.lk;
    const kvh = Math.floor(r / p.lk) % p.nKvHeads;
    const b = Math.floor(r / (p.lk * p.nKvHeads));
    let acc = 0;
    for (let hh = 0; hh < group; hh++) {
      const h = kvh * group + hh;
      walk.queries(b, j, (i) => {
        const qr = (b * p.nHeads + h) * p.lq + i;
        let s = 0;
        for (let d = 0; d < hd; d++) s += (q[qr * hd + d] as number) * (k[r * hd + d] as number);
        acc += Math.exp(s * p.scale - (lse[qr] as number));
      });
    }
    out[r] = acc;
  }
}

/** Column sums of the attention probabilities, [batch, nKvHeads, lk] (see the file comment). */
export const attentionColumnSumsKernel: KernelDef<AttentionParams> = {
  name: "attention-colsum",
  bindings: () => [
    { name: "q", type: "f32", write: false },
    { name: "k", type: "f32", write: false },
    { name: "mask", type: "i32", write: false },
    { name: "lse", type: "f32", write: false },
    { name: "colSums", type: "f32", write: true },
  ],
  variant: (p) => `${headDimMax(p.headDim)}`,
  wgsl: (p, env) => attentionColumnSumsWgsl(env.decls, headDimMax(p.headDim)),
  meta: attentionMeta,
  grid: (p) => [strideGroups(p.batch * p.nKvHeads * p.lk, ATTN_WG), 1, 1],
  ref: (p, arrays) =>
    attentionColumnSumsRef(
      p,
      arrays as [Float32Array, Float32Array, Int32Array, Float32Array, Float32Array],
    ),
};
