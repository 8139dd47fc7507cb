// WGSL builder of the elementwise kernel: one small shader per (op, dtypes, broadcast modes)
// built from the op table (a switch over all ops in one shader ran ~10x slower on lavapipe).
// Shapes and strides stay uniforms, so the number of variants is bounded by the ops used.
import { STRIDE_PRELUDE } from "../kernel";
import { GRAD_CODE_OFFSET, OPS_BY_CODE } from "./table";

/** Workgroup size of the elementwise kernel. */
export const ELEM_WG = 256;
/** Highest rank the elementwise kernel broadcasts over. */
export const MAX_RANK = 8;

/** Meta word layout (see elementwise.ref.ts for the same layout in JS). */
export const META = { n: 0, op: 1, rank: 2, modes: 3, dt: 4, s: 8, s2: 9, shape: 10, strides: 18 };

function expression(op: number): { expr: string; arity: number } {
  const grad = op >= GRAD_CODE_OFFSET;
  const def = OPS_BY_CODE.get(grad ? op - GRAD_CODE_OFFSET : op);
  if (!def || (grad && !def.gradWgsl)) throw new Error(`elementwise: unknown op code ${op}`);
  if (grad) return { expr: `let g = y; let o = z; let r = ${def.gradWgsl};`, arity: 3 };
  return { expr: `let r = ${def.wgsl};`, arity: def.arity };
}

// by dtype code (0 f32, 1 i32, 2 u32 as raw words; 3 f16, already widened by its accessor)
const TO_F = ["bitcast<f32>(BITS)", "f32(bitcast<i32>(BITS))", "f32(BITS)", "BITS"];
const FROM_F = ["bitcast<u32>(V)", "bitcast<u32>(i32(V))", "u32(V)", "V"];

/** What a specialised elementwise shader bakes in: op code, dtype codes (a, b, c, out), modes. */
export interface ElemSpec {
  op: number;
  dtypes: number[];
  modes: number[];
}

/** WGSL of the elementwise kernel specialised for one op, dtypes and broadcast modes. */
export function elementwiseWgsl(decls: string, spec: ElemSpec): string {
  const { expr, arity } = expression(spec.op);
  const names = ["a", "b", "c"];
  const vars = ["x", "y", "z"];
  const index = (k: number) => {
    const m = spec.modes[k] ?? 0;
    return m === 0 ? "i" : m === 1 ? "0u" : `src(${k}u, i)`;
  };
  const dOut = spec.dtypes[3] ?? 0;
  const copy = spec.op === 0 && spec.dtypes[0] === dOut;
  const loads = [0, 1, 2]
    .map((k) =>
      k < arity
        ? `let ${vars[k]} = ${(TO_F[spec.dtypes[k] ?? 0] as string).replace("BITS", `ld_${names[k]}(${index(k)})`)};`
        : `let ${vars[k]} = 0.0;`,
    )
    .join(" ");
  const body = copy
    ? `st_out(i, ld_a(${index(0)}));`
    : `${loads} ${expr} st_out(i, ${(FROM_F[dOut] as string).replace("V", "r")});`;
  return /* wgsl */ `${decls}
const WG: u32 = ${ELEM_WG}u;
fn tanh_(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
fn powf(x: f32, p: f32) -> f32 {
  if (x >= 0.0) { return pow(x, p); }
  if (p == round(p)) { let m = pow(-x, p); return select(m, -m, (i32(p) & 1) == 1); }
  return nan_();
}
fn src(k: u32, i: u32) -> u32 {
  var rem = i;
  var off = 0u;
  let rank = M(${META.rank}u);
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let sz = M(${META.shape}u + u32(d));
    off += (rem % sz) * M(${META.strides}u + k * ${MAX_RANK}u + u32(d));
    rem = rem / sz;
  }
  return off;
}
@compute @workgroup_size(${ELEM_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let n = M(${META.n}u);
  let s = Mf(${META.s}u);
  let s2 = Mf(${META.s2}u);
  for (var i = tid; i < n; i += nthreads) {
    ${body}
  }
}`;
}
