// Software-adapter variants of the attention kernels (headDim % 4 == 0): the WGSL is generated
// fully unrolled with every row in named vec4 variables. lavapipe lowers private arrays indexed
// in loops to per-lane scratch memory, which kept the generic kernels at ~1.5 GFLOP/s; named
// variables stay in SIMD registers. Each invocation owns NR rows of one head (every K/V or Q/dO
// row it loads serves NR rows), and neighbouring invocations take the same rows of different
// heads, so a SIMD group walks one key range (no lanes idle on causal masks). Small model
// (headDim 32, seq 128): forward + backward 30 -> 15 ms per layer.
import { unroll } from "../kernel";
import { COMMON } from "./attention.wgsl";

/** Shape baked into an unrolled kernel: headDim / 4 vec4s per row, NR rows per invocation. */
export interface UnrolledShape {
  hv: number;
  nr: number;
}

/** Largest NR * headDim / 4 (vec4s per row set) generated; larger head dims use the generic kernels. */
export const UNROLLED_MAX_VEC4 = 32;

/**
 * Rows per invocation: more rows share each loaded K/V (or Q/dO) row, but lavapipe's compile time
 * grows steeply with the unrolled size (cold compile of forward + backward at headDim 32: 16 s
 * with 4 query / 2 key rows, 40 s with 8 / 2, minutes with 16), so these stay small.
 */
const QUERY_ROWS_MAX = 4;
const KEY_ROWS = 2;

/** Rows per invocation for the unrolled kernels (0: use the generic kernels). */
export function unrolledRows(headDim: number, rows: number, keyRows = false): number {
  if (headDim % 4 !== 0) return 0;
  const hv = headDim / 4;
  let nr = keyRows ? KEY_ROWS : QUERY_ROWS_MAX;
  while (nr > 1 && (nr * hv > UNROLLED_MAX_VEC4 || nr > rows)) nr /= 2;
  return nr * hv <= UNROLLED_MAX_VEC4 ? nr : 0;
}

const ENTRY = /* wgsl */ `@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = gid.x + gid.y * nwg.x * WG;
  let nthreads = nwg.x * nwg.y * WG;
  let P = attnParams();
  let B = P.batch; let H = P.nHeads; let KV = P.nKvHeads; let Lq = P.lq; let Lk = P.lk;
  let scale = P.scale;
  let group = H / KV;`;

/** Sum of vec4 dot products of two named rows. */
function dotRow(hv: number, a: (d: number) => string, b: (d: number) => string): string {
  return unroll(hv, (d) => `dot(${a(d)}, ${b(d)})`, " + ");
}

function prelude(decls: string, o: UnrolledShape): string {
  return `${decls}\n${COMMON(o.nr)}\nconst HV: u32 = ${o.hv}u;\n${ENTRY}`;
}

/** Query-row kernels: invocation t owns rows i0..i0+NR-1 of head bh (heads vary fastest). */
const QUERY_ROWS = /* wgsl */ `
  let nb = (Lq + NR - 1u) / NR;
  for (var t = tid; t < B * H * nb; t += nthreads) {
    let bh = t % (B * H); let i0 = (t / (B * H)) * NR; let b = bh / H; let h = bh % H;
    let kBase = (b * KV + h / group) * Lk * HV;
    var vis = noVisits();`;

function queryRow(n: number, body: string): string {
  return `let live${n} = i0 + ${n}u < Lq;
    let r${n} = select(bh * Lq, bh * Lq + i0 + ${n}u, live${n});
    let qt${n} = tokQ(b, select(0u, i0 + ${n}u, live${n}));
    if (live${n}) { vis = addQuery(vis, b, i0 + ${n}u); }
    ${body}`;
}

/**
 * Loop over the merged visit lists of the rows (BOS, anchors, own segment), loading each allowed
 * key's K and V rows once; the per-row bodies are branch-free (blocked pairs contribute zeros),
 * straight-line code that lavapipe compiles and runs faster than one branch per row.
 */
function keyLoop(nr: number, hv: number, perRow: (n: number) => string): string {
  return `let nv = nKeyVisits(vis);
    for (var x = 0u; x < nv; x++) {
      let jc = keyVisit(vis, b, x); let j = jc.x;
      let kt = tokK(b, j);
      ${unroll(nr, (n) => `let ok${n} = live${n} && pairClass(qt${n}, kt) == jc.y;`)}
      if (!(${unroll(nr, (n) => `ok${n}`, " || ")})) { continue; }
      let kb = kBase + j * HV;
      ${unroll(hv, (d) => `let k${d} = ld_k(kb + ${d}u); let v${d} = ld_v(kb + ${d}u);`)}
      ${unroll(nr, perRow)}
    }`;
}

/** Forward (bindings q, k, v [vec4]; mask; out [vec4]; lse). */
export function attentionUnrolledWgsl(decls: string, o: UnrolledShape): string {
  const { hv, nr } = o;
  // branch-free online softmax (straight-line code compiles far faster on lavapipe); m starts
  // at -1e30, not -inf, so exp(m - mNew) never sees -inf - -inf
  const online = (n: number) => `let s${n} = select(-1e30, ${dotRow(
    hv,
    (d) => `q${n}_${d}`,
    (d) => `k${d}`,
  )}, ok${n});
        let mx${n} = max(m${n}, s${n});
        let c${n} = exp(m${n} - mx${n});
        let p${n} = select(0.0, exp(s${n} - mx${n}), ok${n});
        m${n} = mx${n};
        l${n} = l${n} * c${n} + p${n};
        ${unroll(hv, (d) => `a${n}_${d} = a${n}_${d} * c${n} + p${n} * v${d};`, " ")}`;
  return /* wgsl */ `${prelude(decls, o)}
${QUERY_ROWS}
    ${unroll(nr, (n) =>
      queryRow(
        n,
        `${unroll(hv, (d) => `let q${n}_${d} = ld_q(r${n} * HV + ${d}u) * scale; var a${n}_${d} = vec4<f32>(0.0);`)}
    var m${n} = -1e30; var l${n} = 0.0;`,
      ),
    )}
    ${keyLoop(nr, hv, online)}
    ${unroll(
      nr,
      (n) => `if (live${n}) {
      let inv = select(0.0, 1.0 / l${n}, l${n} > 0.0);
      ${unroll(hv, (d) => `st_out(r${n} * HV + ${d}u, a${n}_${d} * inv);`, " ")}
      st_lse(r${n}, select(0.0, m${n} + log(l${n}), l${n} > 0.0));
    }`,
    )}
  }
}`;
}

/** dQ (bindings q, k, v [vec4]; mask; dout [vec4]; lse; dsum; dq [vec4]). */
export function attentionDqUnrolledWgsl(decls: string, o: UnrolledShape): string {
  const { hv, nr } = o;
  const grad = (n: number) => `let s${n} = ${dotRow(
    hv,
    (d) => `q${n}_${d}`,
    (d) => `k${d}`,
  )};
        let dp${n} = ${dotRow(
          hv,
          (d) => `o${n}_${d}`,
          (d) => `v${d}`,
        )};
        let ds${n} = select(0.0, exp(s${n} - lse${n}) * (dp${n} - D${n}), ok${n});
        ${unroll(hv, (d) => `g${n}_${d} += ds${n} * k${d};`, " ")}`;
  return /* wgsl */ `${prelude(decls, o)}
${QUERY_ROWS}
    ${unroll(nr, (n) =>
      queryRow(
        n,
        `${unroll(hv, (d) => `let q${n}_${d} = ld_q(r${n} * HV + ${d}u) * scale; let o${n}_${d} = ld_dout(r${n} * HV + ${d}u); var g${n}_${d} = vec4<f32>(0.0);`)}
    let lse${n} = ld_lse(r${n}); let D${n} = ld_dsum(r${n});`,
      ),
    )}
    ${keyLoop(nr, hv, grad)}
    ${unroll(
      nr,
      (n) =>
        `if (live${n}) { ${unroll(hv, (d) => `st_dq(r${n} * HV + ${d}u, g${n}_${d} * scale);`, " ")} }`,
    )}
  }
}`;
}

/**
 * dK/dV (bindings q, k, v [vec4]; mask; dout [vec4]; lse; dsum; dk, dv [vec4]): invocation t owns
 * key slots j0..j0+NR-1 (rows keyOrder[slot]) of kv head bk and walks the queries of every head
 * of its group.
 */
export function attentionDkvUnrolledWgsl(decls: string, o: UnrolledShape): string {
  const { hv, nr } = o;
  const keyRow = (n: number) => `let live${n} = j0 + ${n}u < Lk;
    let key${n} = keySlot(b, select(0u, j0 + ${n}u, live${n}));
    let r${n} = bk * Lk + key${n};
    let kt${n} = tokK(b, key${n});
    if (live${n}) { vis = addKey(vis, b, key${n}); }
    ${unroll(hv, (d) => `let k${n}_${d} = ld_k(r${n} * HV + ${d}u); let v${n}_${d} = ld_v(r${n} * HV + ${d}u); var dk${n}_${d} = vec4<f32>(0.0); var dv${n}_${d} = vec4<f32>(0.0);`)}`;
  const grad = (n: number) => `let s${n} = ${dotRow(
    hv,
    (d) => `q${d}`,
    (d) => `k${n}_${d}`,
  )};
        let dp${n} = ${dotRow(
          hv,
          (d) => `o${d}`,
          (d) => `v${n}_${d}`,
        )};
        let p${n} = select(0.0, exp(s${n} * scale - lse), ok${n});
        let ds${n} = p${n} * (dp${n} - D) * scale;
        ${unroll(hv, (d) => `dv${n}_${d} += p${n} * o${d}; dk${n}_${d} += ds${n} * q${d};`, " ")}`;
  return /* wgsl */ `${prelude(decls, o)}
  let nb = (Lk + NR - 1u) / NR;
  for (var t = tid; t < B * KV * nb; t += nthreads) {
    let bk = t % (B * KV); let j0 = (t / (B * KV)) * NR; let b = bk / KV; let kvh = bk % KV;
    var vis = noQueryVisits();
    ${unroll(nr, keyRow)}
    let nv = nQueryVisits(vis);
    // heads outside, queries inside: the same summation order as the CPU reference
    for (var hh = 0u; hh < group; hh++) {
      for (var x = 0u; x < nv; x++) {
        let iw = queryVisit(vis, x); let i = iw.x;
        let qt = tokQ(b, i);
        ${unroll(nr, (n) => `let ok${n} = live${n} && wantsQuery(pairClass(qt, kt${n}), iw.y);`, "\n        ")}
        if (!(${unroll(nr, (n) => `ok${n}`, " || ")})) { continue; }
        let qr = (b * H + kvh * group + hh) * Lq + i;
        ${unroll(hv, (d) => `let q${d} = ld_q(qr * HV + ${d}u); let o${d} = ld_dout(qr * HV + ${d}u);`, "\n        ")}
        let lse = ld_lse(qr); let D = ld_dsum(qr);
        ${unroll(nr, grad, "\n        ")}
      }
    }
    ${unroll(
      nr,
      (n) =>
        `if (live${n}) { ${unroll(hv, (d) => `st_dk(r${n} * HV + ${d}u, dk${n}_${d}); st_dv(r${n} * HV + ${d}u, dv${n}_${d});`, " ")} }`,
    )}
  }
}`;
}
