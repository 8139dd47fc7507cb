// The one definition of what the attention kernels read besides q/k/v: the named parameters (the
// meta uniform words) and the packed mask buffer (per-token arrays one after another). Both the
// host code (packing, CPU reference) and the WGSL accessors every attention kernel calls are
// generated from the two tables below, so an array or parameter is never addressed by position.
import { f32Bits } from "../../dtype";
import type { AttentionParams } from "./attention.ref";

/** Meta words of every attention kernel, in order; WGSL reads them as fields of `attnParams()`. */
const PARAMS = [
  { name: "batch", type: "u32", word: (p: AttentionParams) => p.batch },
  { name: "nHeads", type: "u32", word: (p: AttentionParams) => p.nHeads },
  { name: "nKvHeads", type: "u32", word: (p: AttentionParams) => p.nKvHeads },
  { name: "lq", type: "u32", word: (p: AttentionParams) => p.lq },
  { name: "lk", type: "u32", word: (p: AttentionParams) => p.lk },
  { name: "headDim", type: "u32", word: (p: AttentionParams) => p.headDim },
  { name: "scale", type: "f32", word: (p: AttentionParams) => f32Bits(p.scale) },
  { name: "anchorMode", type: "bool", word: (p: AttentionParams) => +p.anchorMode },
  { name: "hasDoc", type: "bool", word: (p: AttentionParams) => +p.hasDoc },
  { name: "bosVisible", type: "bool", word: (p: AttentionParams) => +p.bosVisible },
] as const;

/** The meta words of one attention call (same order as the WGSL struct fields). */
export function attentionMeta(p: AttentionParams): number[] {
  return PARAMS.map((f) => f.word(p));
}

/**
 * The packed mask: i32 arrays of one value per query token (`q`, batch * lq values) or per key
 * token (`k`, batch * lk values), each row-major [batch, L], stored one after another in this order.
 */
const MASK_ARRAYS = [
  { name: "qPos", per: "q" },
  { name: "qSeg", per: "q" },
  { name: "qAnchor", per: "q" },
  /** document id (only read when hasDoc) */
  { name: "qDoc", per: "q" },
  { name: "kPos", per: "k" },
  { name: "kSeg", per: "k" },
  { name: "kAnchor", per: "k" },
  { name: "kDoc", per: "k" },
  /** 1 = real key, 0 = padding or empty cache slot */
  { name: "kValid", per: "k" },
  /** first query position that no longer sees the key (cache policies' eviction; i32 max = never) */
  { name: "kUntil", per: "k" },
  // the compact structure (attention.structure.ts): ranges [lo, hi), list slices per sequence
  { name: "qSegLo", per: "q" },
  { name: "qSegHi", per: "q" },
  { name: "qAncLo", per: "q" },
  { name: "qAncHi", per: "q" },
  { name: "qBosLo", per: "q" },
  { name: "qBosHi", per: "q" },
  { name: "anchorKeys", per: "k" },
  { name: "bosKeys", per: "k" },
  { name: "kSegLo", per: "k" },
  { name: "kSegHi", per: "k" },
  { name: "kOtherLo", per: "k" },
  { name: "kOtherHi", per: "k" },
  /** per sequence: a permutation of the keys, those with a non-empty kOther range first */
  { name: "keyOrder", per: "k" },
] as const;

/** Name of one per-token array of the packed mask. */
export type MaskArrayName = (typeof MASK_ARRAYS)[number]["name"];

/** Every array name, in buffer order. */
export const MASK_ARRAY_NAMES: readonly MaskArrayName[] = MASK_ARRAYS.map((a) => a.name);

/** Whether an array has one value per query ("q") or per key ("k"). */
export function maskArrayPer(name: MaskArrayName): "q" | "k" {
  return (MASK_ARRAYS.find((a) => a.name === name) as (typeof MASK_ARRAYS)[number]).per;
}

/** Offset of each array as (count of query arrays, count of key arrays) before it. */
const COEFFS = (() => {
  const out = new Map<MaskArrayName, [number, number]>();
  let q = 0;
  let k = 0;
  for (const a of MASK_ARRAYS) {
    out.set(a.name, [q, k]);
    if (a.per === "q") q++;
    else k++;
  }
  return { offsets: out, q, k };
})();

/** Offsets (in i32 elements) of every array for nq = batch * lq queries and nk = batch * lk keys. */
export function maskOffsets(nq: number, nk: number): Record<MaskArrayName, number> {
  const out = {} as Record<MaskArrayName, number>;
  for (const [name, [a, b]] of COEFFS.offsets) out[name] = a * nq + b * nk;
  return out;
}

/** Total i32 elements of the packed mask. */
export function maskLength(nq: number, nk: number): number {
  return COEFFS.q * nq + COEFFS.k * nk;
}

const WGSL_TYPE = { u32: "u32", f32: "f32", bool: "bool" } as const;

function wordWgsl(type: "u32" | "f32" | "bool", i: number): string {
  if (type === "f32") return `Mf(${i}u)`;
  if (type === "bool") return `M(${i}u) != 0u`;
  return `M(${i}u)`;
}

/**
 * WGSL of the named parameters and mask accessors: `attnParams()` returns a struct with one field
 * per parameter, and each mask array `x` gets `xAt(t) -> i32` for flat token index t = b * L + i.
 */
export function attentionLayoutWgsl(): string {
  const fields = PARAMS.map((f) => `${f.name}: ${WGSL_TYPE[f.type]}`).join(", ");
  const words = PARAMS.map((f, i) => wordWgsl(f.type, i)).join(", ");
  const term = (n: number, count: string) =>
    n === 0 ? [] : [n === 1 ? count : `${n}u * ${count}`];
  const accessors = MASK_ARRAYS.map((a) => {
    const [nq, nk] = COEFFS.offsets.get(a.name) as [number, number];
    const base = [...term(nq, "maskNq()"), ...term(nk, "maskNk()"), "t"].join(" + ");
    return `fn ${a.name}At(t: u32) -> i32 { return ld_mask(${base}); }`;
  });
  return /* wgsl */ `struct AttnParams { ${fields} }
fn attnParams() -> AttnParams { return AttnParams(${words}); }
fn maskNq() -> u32 { let P = attnParams(); return P.batch * P.lq; }
fn maskNk() -> u32 { let P = attnParams(); return P.batch * P.lk; }
${accessors.join("\n")}`;
}
