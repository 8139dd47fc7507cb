// Kernel definitions of the anchor attention forward and backward (dQ, dK/dV).
import { type BindingSpec, type KernelDef, strideGroups } from "../kernel";
import { attentionMeta } from "./attention.layout";
import {
  type AttentionParams,
  attentionDkvRef,
  attentionDqRef,
  attentionRef,
} from "./attention.ref";
import {
  ATTN_ROWS_SOFTWARE,
  ATTN_WG,
  type AttnShape,
  attentionDkvWgsl,
  attentionDqWgsl,
  attentionWgsl,
  COMMON,
  headDimMax,
} from "./attention.wgsl";
import {
  attentionDkvTiledWgsl,
  attentionDqTiledWgsl,
  attentionTiledWgsl,
  type TiledShape,
  tiledShape,
} from "./attention-tiled.wgsl";
import {
  attentionDkvUnrolledWgsl,
  attentionDqUnrolledWgsl,
  attentionUnrolledWgsl,
  type UnrolledShape,
  unrolledRows,
} from "./attention-unrolled.wgsl";

/** Rows per invocation: on software adapters neighbouring rows share key/query loads. */
const rows = (software: boolean) => (software ? ATTN_ROWS_SOFTWARE : 1);

/** headDim a power of two (>= 16): loops get a constant bound, so they unroll. */
const shape = (p: AttentionParams, software: boolean): AttnShape => ({
  hdm: headDimMax(p.headDim),
  exact: headDimMax(p.headDim) === p.headDim,
  nr: rows(software),
});
const variant = (p: AttentionParams, software: boolean) => {
  const o = shape(p, software);
  return `${o.hdm}${o.exact ? "e" : ""}/${o.nr}`;
};

/** Unrolled shape over `rows` query (forward, dQ) or key (dK/dV) rows; null: generic kernels. */
function unrolled(p: AttentionParams, rows: number, keyRows = false): UnrolledShape | null {
  if (p.kernels !== "unrolled") return null;
  const nr = unrolledRows(p.headDim, rows, keyRows);
  return nr > 0 ? { hv: p.headDim / 4, nr } : null;
}

/** Workgroups of the tiled kernels (one per block of ATTN_WG rows), as a 2D grid past 65535. */
function blockGrid(blocks: number): [number, number, number] {
  const x = Math.min(blocks, 65535);
  return [x, Math.ceil(blocks / x), 1];
}

/** Kernel parts that differ between the generic, unrolled and tiled variants. */
function pick(
  keyRows: boolean,
  generic: (decls: string, o: AttnShape) => string,
  unrolledWgsl: (decls: string, o: UnrolledShape) => string,
  tiledWgsl: (decls: string, common: string, o: TiledShape) => string,
  f32Specs: BindingSpec[],
): Pick<KernelDef<AttentionParams>, "bindings" | "variant" | "wgsl" | "grid"> {
  const rowsOf = (p: AttentionParams) => (keyRows ? p.lk : p.lq);
  const heads = (p: AttentionParams) => p.batch * (keyRows ? p.nKvHeads : p.nHeads);
  const untiled = pickUntiled(keyRows, generic, unrolledWgsl, f32Specs, rowsOf, heads);
  return {
    bindings: (p) => (p.kernels === "tiled" ? f32Specs : untiled.bindings(p)),
    variant: (p, sw) => {
      if (p.kernels !== "tiled") return untiled.variant(p, sw);
      const t = tiledShape(p.headDim);
      return `t${t.hdm}${t.exact ? "e" : ""}x${t.tile}`;
    },
    wgsl: (p, env) => {
      if (p.kernels !== "tiled") return untiled.wgsl(p, env);
      const t = tiledShape(p.headDim);
      return tiledWgsl(env.decls, COMMON(1, t.hdm), t);
    },
    grid: (p, sw) =>
      p.kernels === "tiled"
        ? blockGrid(heads(p) * Math.ceil(rowsOf(p) / ATTN_WG))
        : untiled.grid(p, sw),
  };
}

function pickUntiled(
  keyRows: boolean,
  generic: (decls: string, o: AttnShape) => string,
  unrolledWgsl: (decls: string, o: UnrolledShape) => string,
  f32Specs: BindingSpec[],
  rowsOf: (p: AttentionParams) => number,
  heads: (p: AttentionParams) => number,
): Pick<KernelDef<AttentionParams>, "bindings" | "variant" | "wgsl" | "grid"> {
  return {
    // unrolled kernels read and write the [rows, headDim] tensors as vec4
    bindings: (p) =>
      unrolled(p, rowsOf(p), keyRows)
        ? f32Specs.map((s) =>
            s.type === "f32" && !["lse", "dsum"].includes(s.name) ? { ...s, type: "vec4<f32>" } : s,
          )
        : f32Specs,
    variant: (p, sw) => {
      const u = unrolled(p, rowsOf(p), keyRows);
      return u ? `u${u.hv}x${u.nr}` : variant(p, sw);
    },
    wgsl: (p, env) => {
      const u = unrolled(p, rowsOf(p), keyRows);
      return u ? unrolledWgsl(env.decls, u) : generic(env.decls, shape(p, env.software));
    },
    grid: (p, sw) => {
      const nr = unrolled(p, rowsOf(p), keyRows)?.nr ?? rows(sw);
      return [strideGroups(heads(p) * Math.ceil(rowsOf(p) / nr), ATTN_WG), 1, 1];
    },
  };
}

const r = (name: string, type: BindingSpec["type"] = "f32"): BindingSpec => ({
  name,
  type,
  write: false,
});
const w = (name: string): BindingSpec => ({ name, type: "f32", write: true });
const inputs = [r("q"), r("k"), r("v"), r("mask", "i32")];

/** Forward: out and per-row log-sum-exp. */
export const attentionKernel: KernelDef<AttentionParams> = {
  name: "attention",
  ...pick(false, attentionWgsl, attentionUnrolledWgsl, attentionTiledWgsl, [
    ...inputs,
    w("out"),
    w("lse"),
  ]),
  meta: attentionMeta,
  ref: attentionRef,
};

/** Backward for queries. */
export const attentionDqKernel: KernelDef<AttentionParams> = {
  name: "attention-dq",
  ...pick(false, attentionDqWgsl, attentionDqUnrolledWgsl, attentionDqTiledWgsl, [
    ...inputs,
    r("dout"),
    r("lse"),
    r("dsum"),
    w("dq"),
  ]),
  meta: attentionMeta,
  ref: attentionDqRef,
};

/** Backward for keys and values. */
export const attentionDkvKernel: KernelDef<AttentionParams> = {
  name: "attention-dkv",
  ...pick(true, attentionDkvWgsl, attentionDkvUnrolledWgsl, attentionDkvTiledWgsl, [
    ...inputs,
    r("dout"),
    r("lse"),
    r("dsum"),
    w("dk"),
    w("dv"),
  ]),
  meta: attentionMeta,
  ref: attentionDkvRef,
};
