// The anchor attention op: q/k/v with GQA and an AttentionMask of per-token arrays (positions,
// segment ids, anchor flags, optional documents, key validity) - never a dense L x L mask.
import { attach } from "../autograd";
import type { Device } from "../device";
import { ShapeError } from "../errors";
import { full, tensor } from "../factories";
import {
  attentionDkvKernel,
  attentionDqKernel,
  attentionKernel,
} from "../kernels/attention/attention.kernel";
import type { AttentionParams } from "../kernels/attention/attention.ref";
import { maskRule } from "../kernels/attention/attention.ref";
import type { Tensor } from "../tensor";
import { isTensor } from "../tensor";
import { checkSame, empty, launchElementwise } from "./core";
import { concat, reshape } from "./movement";
import { sum } from "./reduce";

/** A per-token array: an i32 Tensor [batch, L] or a host Int32Array of batch * L values. */
export type TokenArray = Tensor | Int32Array;

/**
 * The attention rule as per-token arrays (row-major [batch, L]):
 * allowed(i, j) = kValid[j] && kPos[j] <= qPos[i] && (no docs || qDoc[i] == kDoc[j]) &&
 *   (mode == "causal" || qSeg[i] == kSeg[j] || (kAnchor[j] && !qAnchor[i]) || (bosVisible && kPos[j] == 0)).
 */
export interface AttentionMask {
  qPos: TokenArray;
  kPos: TokenArray;
  qSeg: TokenArray;
  kSeg: TokenArray;
  qAnchor: TokenArray;
  kAnchor: TokenArray;
  qDoc?: TokenArray;
  kDoc?: TokenArray;
  kValid: TokenArray;
  mode: "causal" | "anchor";
  bosVisible?: boolean;
  /** Packed i32 copy on the device (set by makeAttentionMask). */
  packed?: Tensor;
}

/** Host arrays for makeAttentionMask; k* default to the q* arrays (training, Lq == Lk). */
export interface MaskInput {
  batch: number;
  lq: number;
  lk?: number;
  mode?: "causal" | "anchor";
  qPos?: Int32Array;
  kPos?: Int32Array;
  /** Anchor flags of the queries (1 = anchor); segment ids are derived when qSeg is omitted. */
  qAnchor?: Int32Array | Uint8Array;
  kAnchor?: Int32Array | Uint8Array;
  qSeg?: Int32Array;
  kSeg?: Int32Array;
  qDoc?: Int32Array;
  kDoc?: Int32Array;
  /** 1 = real key, 0 = padding or empty cache slot (default all 1). */
  kValid?: Int32Array | Uint8Array;
  bosVisible?: boolean;
  device?: Device;
}

function segmentsOf(anchor: Int32Array, batch: number, len: number): Int32Array {
  const seg = new Int32Array(batch * len);
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let t = 0; t < len; t++) {
      seg[b * len + t] = s;
      if (anchor[b * len + t]) s++;
    }
  }
  return seg;
}

function filled(n: number, f: (i: number) => number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => f(i));
}

/**
 * Per query the [lo, hi) range of keys it may see and per key the range of queries that may see
 * it (from the packed arrays, by the same rule as the kernels); empty ranges are [0, 0).
 */
function allowedSpans(
  packed: Int32Array,
  batch: number,
  lq: number,
  lk: number,
  anchorMode: boolean,
  hasDoc: boolean,
  bosVisible: boolean,
): Int32Array {
  const ok = maskRule(
    { batch, nHeads: 1, nKvHeads: 1, lq, lk, headDim: 1, scale: 1, anchorMode, hasDoc, bosVisible },
    packed,
  );
  const nq = batch * lq;
  const nk = batch * lk;
  const out = new Int32Array(2 * nq + 2 * nk);
  if (batch * lq * lk > 2 ** 24) {
    // too large to scan on the host: full spans (the kernels still apply the rule per pair)
    out.fill(lk, nq, 2 * nq);
    out.fill(lq, 2 * nq + nk);
    return out;
  }
  const qLo = new Int32Array(nq).fill(lk);
  const qHi = new Int32Array(nq);
  const kLo = new Int32Array(nk).fill(lq);
  const kHi = new Int32Array(nk);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < lq; i++) {
      for (let j = 0; j < lk; j++) {
        if (!ok(b, i, j)) continue;
        const qi = b * lq + i;
        const kj = b * lk + j;
        if (j < (qLo[qi] as number)) qLo[qi] = j;
        if (j + 1 > (qHi[qi] as number)) qHi[qi] = j + 1;
        if (i < (kLo[kj] as number)) kLo[kj] = i;
        if (i + 1 > (kHi[kj] as number)) kHi[kj] = i + 1;
      }
    }
  }
  for (let t = 0; t < nq; t++) if ((qHi[t] as number) === 0) qLo[t] = 0;
  for (let t = 0; t < nk; t++) if ((kHi[t] as number) === 0) kLo[t] = 0;
  out.set(qLo, 0);
  out.set(qHi, nq);
  out.set(kLo, 2 * nq);
  out.set(kHi, 2 * nq + nk);
  return out;
}

/** Builds an AttentionMask from host arrays and uploads it once (packed). Dispose `packed` when done. */
export function makeAttentionMask(m: MaskInput): AttentionMask & { packed: Tensor } {
  const lk = m.lk ?? m.lq;
  const nq = m.batch * m.lq;
  const nk = m.batch * lk;
  const check = (name: string, a: ArrayLike<number> | undefined, n: number) => {
    if (a && a.length !== n)
      throw new ShapeError(
        `makeAttentionMask: ${name} has ${a.length} values, expected batch * L = ${n}`,
      );
  };
  const i32 = (a: ArrayLike<number> | undefined) => (a ? Int32Array.from(a) : undefined);
  const qPos = i32(m.qPos) ?? filled(nq, (i) => i % m.lq);
  const qAnchor = i32(m.qAnchor) ?? new Int32Array(nq);
  const qSeg = i32(m.qSeg) ?? segmentsOf(qAnchor, m.batch, m.lq);
  const same = lk === m.lq;
  const kPos = i32(m.kPos) ?? (same ? qPos : filled(nk, (i) => i % lk));
  const kAnchor = i32(m.kAnchor) ?? (same && !m.kPos ? qAnchor : new Int32Array(nk));
  const kSeg = i32(m.kSeg) ?? (same && !m.kPos ? qSeg : segmentsOf(kAnchor, m.batch, lk));
  const qDoc = i32(m.qDoc);
  const kDoc = i32(m.kDoc) ?? (same ? qDoc : undefined);
  const kValid = i32(m.kValid) ?? new Int32Array(nk).fill(1);
  for (const [name, a, n] of [
    ["qPos", qPos, nq],
    ["qAnchor", qAnchor, nq],
    ["qSeg", qSeg, nq],
    ["qDoc", qDoc, nq],
    ["kPos", kPos, nk],
    ["kAnchor", kAnchor, nk],
    ["kSeg", kSeg, nk],
    ["kDoc", kDoc, nk],
    ["kValid", kValid, nk],
  ] as const) {
    check(name, a, n);
  }
  if ((qDoc === undefined) !== (kDoc === undefined))
    throw new ShapeError("makeAttentionMask: give both qDoc and kDoc or neither");
  const packedHost = new Int32Array(6 * nq + 7 * nk);
  const qParts = [qPos, qSeg, qAnchor, qDoc ?? new Int32Array(nq)];
  const kParts = [kPos, kSeg, kAnchor, kDoc ?? new Int32Array(nk), kValid];
  for (const [i, a] of qParts.entries()) packedHost.set(a, i * nq);
  for (const [i, a] of kParts.entries()) packedHost.set(a, 4 * nq + i * nk);
  const spans = allowedSpans(
    packedHost,
    m.batch,
    m.lq,
    lk,
    (m.mode ?? "anchor") === "anchor",
    qDoc !== undefined,
    m.bosVisible ?? false,
  );
  packedHost.set(spans, 4 * nq + 5 * nk);
  const packed = tensor(packedHost, [packedHost.length], { dtype: "i32", device: m.device });
  packed.kept = true;
  return {
    qPos,
    kPos,
    qSeg,
    kSeg,
    qAnchor,
    kAnchor,
    qDoc,
    kDoc,
    kValid,
    mode: m.mode ?? "anchor",
    bosVisible: m.bosVisible ?? false,
    packed,
  };
}

function packMask(
  mask: AttentionMask,
  batch: number,
  lq: number,
  lk: number,
  like: Tensor,
): { t: Tensor; owned: boolean } {
  if (mask.packed && !mask.packed.isDisposed) return { t: mask.packed, owned: false };
  const dev = like.device;
  const flat = (a: TokenArray | undefined, n: number, name: string): Tensor => {
    if (a === undefined) return tensor(new Int32Array(n), [n], { dtype: "i32", device: dev });
    if (!isTensor(a)) {
      if (a.length !== n)
        throw new ShapeError(`attention mask: ${name} has ${a.length} values, expected ${n}`);
      return tensor(a, [n], { dtype: "i32", device: dev });
    }
    const t = a as Tensor;
    if (t.size !== n || t.dtype !== "i32")
      throw new ShapeError(
        `attention mask: ${name} must be i32 with ${n} values, got ${t.dtype} [${t.shape}]`,
      );
    return reshape(t, [n]);
  };
  const nq = batch * lq;
  const nk = batch * lk;
  const parts = [
    flat(mask.qPos, nq, "qPos"),
    flat(mask.qSeg, nq, "qSeg"),
    flat(mask.qAnchor, nq, "qAnchor"),
    flat(mask.qDoc, nq, "qDoc"),
    flat(mask.kPos, nk, "kPos"),
    flat(mask.kSeg, nk, "kSeg"),
    flat(mask.kAnchor, nk, "kAnchor"),
    flat(mask.kDoc, nk, "kDoc"),
    flat(mask.kValid, nk, "kValid"),
    // no host copy of the arrays here: full spans (every pair is still checked by the rule)
    full([nq], 0, { dtype: "i32", device: dev }),
    full([nq], lk, { dtype: "i32", device: dev }),
    full([nk], 0, { dtype: "i32", device: dev }),
    full([nk], lq, { dtype: "i32", device: dev }),
  ];
  const t = concat(parts, 0);
  for (const p of parts) p.dispose();
  return { t, owned: true };
}

/** Options of attention. */
export interface AttentionOptions {
  /** Score scale (default 1 / sqrt(headDim)). */
  scale?: number;
  /**
   * GPU kernel family: "auto" (default) takes the unrolled kernels on software adapters when
   * headDim % 4 == 0, "generic" forces the generic ones (tests and benchmarks).
   */
  kernels?: "auto" | "generic";
}

/**
 * q [batch, nHeads, Lq, headDim], k/v [batch, nKvHeads, Lk, headDim] -> [batch, nHeads, Lq, headDim].
 * Query head h reads kv head floor(h / (nHeads / nKvHeads)). Rows with no allowed key are zeros.
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttentionMask,
  opts: AttentionOptions = {},
): Tensor {
  checkSame("attention", [q, k, v]);
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4)
    throw new ShapeError("attention: q, k, v must be rank 4");
  const [batch, nHeads, lq, headDim] = q.shape as [number, number, number, number];
  const [kb, nKvHeads, lk, hdk] = k.shape as [number, number, number, number];
  if (
    kb !== batch ||
    hdk !== headDim ||
    v.shape.join() !== k.shape.join() ||
    nHeads % nKvHeads !== 0
  ) {
    throw new ShapeError(
      `attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit (GQA needs nHeads % nKvHeads == 0)`,
    );
  }
  if (headDim > 256) throw new ShapeError(`attention: headDim ${headDim} > 256 not supported`);
  const p: AttentionParams = {
    batch,
    nHeads,
    nKvHeads,
    lq,
    lk,
    headDim,
    scale: opts.scale ?? 1 / Math.sqrt(headDim),
    anchorMode: mask.mode === "anchor",
    hasDoc: mask.qDoc !== undefined && mask.kDoc !== undefined,
    bosVisible: mask.bosVisible ?? false,
    kernels:
      q.backend.software && opts.kernels !== "generic" && headDim % 4 === 0
        ? "unrolled"
        : "generic",
  };
  const { t: packed, owned } = packMask(mask, batch, lq, lk, q);
  const arg = (t: Tensor) => ({ storage: t.storage, dtype: t.dtype });
  const out = empty(q.shape, "f32", q);
  const lse = empty([batch, nHeads, lq], "f32", q);
  if (out.size > 0)
    out.backend.run(attentionKernel, p, [arg(q), arg(k), arg(v), arg(packed), arg(out), arg(lse)]);
  const res = attach("attention", out, [q, k, v], [q, k, v, packed, out, lse], (g, s) => {
    const [sq, sk, sv, sm, so, sl] = s as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const dsum = sum(launchElementwise("mul", [g, so], "f32"), -1);
    const dq = empty(q.shape, "f32", g);
    const dk = empty(k.shape, "f32", g);
    const dv = empty(v.shape, "f32", g);
    if (dq.size > 0) {
      const common = [arg(sq), arg(sk), arg(sv), arg(sm), arg(g), arg(sl), arg(dsum)];
      g.backend.run(attentionDqKernel, p, [...common, arg(dq)]);
      g.backend.run(attentionDkvKernel, p, [...common, arg(dk), arg(dv)]);
    }
    return [dq, dk, dv];
  });
  lse.dispose();
  if (owned) packed.dispose();
  return res;
}
