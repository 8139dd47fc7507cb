// Kernel definition of the in-place row compaction.
import { type KernelDef, strideGroups } from "../kernel";
import { type CompactRowsParams, compactRowsRef } from "./compact-rows.ref";
import { COMPACT_ROWS_WG, compactRowsWgsl } from "./compact-rows.wgsl";

/** x[b, m, i, e] = x[b, m, keep_bm[i], e] in place (raw words, any dtype; one list per slice). */
export const compactRowsKernel: KernelDef<CompactRowsParams> = {
  name: "compact-rows",
  bindings: () => [
    { name: "table", type: "i32", write: false },
    { name: "x", type: "u32", write: true },
  ],
  variant: () => "",
  wgsl: (_p, env) => compactRowsWgsl(env.decls),
  meta: (p) => [p.batch, p.mid, p.rows, p.inner],
  grid: (p, sw) => [strideGroups(p.batch * p.mid * p.inner, COMPACT_ROWS_WG, sw), 1, 1],
  ref: compactRowsRef,
};
