// The anchor attention op: q/k/v with GQA and an AttentionMask of per-token arrays (positions,
// segment ids, anchor flags, optional documents, key validity) - never a dense L x L mask.
import { NO_EVICTION, segmentIds } from "@anllm/anchor-mask";
import type { Backend, Device } from "../device";
import { DisposedTensorError, ShapeError } from "../errors";
import { tensor, zeros } from "../factories";
import { attentionColumnSumsKernel } from "../kernels/attention/attention.colsum";
import {
  attentionDkvKernel,
  attentionDqKernel,
  attentionKernel,
} from "../kernels/attention/attention.kernel";
import { MASK_ARRAY_NAMES, maskLength, maskOffsets } from "../kernels/attention/attention.layout";
import type { AttentionParams } from "../kernels/attention/attention.ref";
import { attentionStructure, type TokenArrays } from "../kernels/attention/attention.structure";
import { attach } from "../tape";
import type { Tensor } from "../tensor";
import {
  type AttentionFamily,
  attentionShapeClass,
  noteWork,
  tunedChoice,
  tuningActive,
} from "../tuning";
import { checkSame, empty, floatOut, launchElementwise } from "./core";
import { sum } from "./reduce";

/**
 * Per-token values, row-major [batch, L], on the host: the mask's compact structure is built from
 * them (attention.structure.ts) before the one upload.
 */
export type TokenArray = Int32Array | Uint8Array;

/**
 * Per-token arrays of the attention rule for makeAttentionMask; k* default to the q* arrays
 * (training, Lq == Lk):
 * allowed(i, j) = kValid[j] && kPos[j] <= qPos[i] && (no docs || qDoc[i] == kDoc[j]) &&
 *   (mode == "causal" || qSeg[i] == kSeg[j] || (kAnchor[j] && !qAnchor[i]) || (bosVisible && kPos[j] == 0))
 *   && qPos[i] < kUntil[j].
 */
export interface MaskInput {
  batch: number;
  lq: number;
  /** key length (default lq) */
  lk?: number;
  mode?: "causal" | "anchor";
  /** positions (default 0..L-1 per row) */
  qPos?: TokenArray;
  kPos?: TokenArray;
  /** anchor flags (1 = anchor, default none) */
  qAnchor?: TokenArray;
  kAnchor?: TokenArray;
  /** segment ids (default `segmentIds` of the anchor flags, per row) */
  qSeg?: TokenArray;
  kSeg?: TokenArray;
  /** document ids (give both or neither) */
  qDoc?: TokenArray;
  kDoc?: TokenArray;
  /** 1 = real key, 0 = padding or empty cache slot (default all 1) */
  kValid?: TokenArray;
  /**
   * first query position (qPos) that no longer sees each key: a cache policy's eviction bound
   * (anchor-mask's `kUntil`; default never = 2147483647)
   */
  kUntil?: TokenArray;
  /** keys at position 0 are visible to every query of their document */
  bosVisible?: boolean;
  device?: Device;
}

/**
 * An attention mask on the device, made by makeAttentionMask: it owns its device copy until
 * `dispose()`. The autograd tape keeps its own reference, so disposing right after the forward
 * is safe.
 */
export interface AttentionMask {
  readonly batch: number;
  readonly lq: number;
  readonly lk: number;
  readonly mode: "causal" | "anchor";
  readonly bosVisible: boolean;
  readonly hasDoc: boolean;
  readonly isDisposed: boolean;
  /** Frees the device copy (idempotent). */
  dispose(): void;
}

/** The packed device copy of every live mask handle (private to this module). */
const devicePacked = new WeakMap<AttentionMask, Tensor>();

class MaskHandle implements AttentionMask {
  constructor(
    readonly batch: number,
    readonly lq: number,
    readonly lk: number,
    readonly mode: "causal" | "anchor",
    readonly bosVisible: boolean,
    readonly hasDoc: boolean,
    packed: Tensor,
  ) {
    devicePacked.set(this, packed);
  }

  get isDisposed(): boolean {
    return !devicePacked.has(this);
  }

  dispose(): void {
    devicePacked.get(this)?.dispose();
    devicePacked.delete(this);
  }
}

/**
 * A second handle on `mask`'s device copy, disposed separately (its device memory lives until
 * both are disposed): for work that runs after the mask's owner disposed it, such as activation
 * checkpointing's recompute in backward. The copy is a plain tensor view, so a tidy scope or the
 * tape that owns it frees it.
 */
export function retainMask(mask: AttentionMask): AttentionMask {
  const packed = devicePacked.get(mask);
  if (!packed) throw new DisposedTensorError("retainMask: the mask was used after dispose()");
  const m = mask as MaskHandle;
  return new MaskHandle(
    m.batch,
    m.lq,
    m.lk,
    m.mode,
    m.bosVisible,
    m.hasDoc,
    packed.view(packed.shape),
  );
}

/** Segment ids of every row of [batch, L] anchor flags. */
function batchSegments(anchor: Int32Array, batch: number, len: number): Int32Array {
  const seg = new Int32Array(batch * len);
  for (let b = 0; b < batch; b++)
    seg.set(segmentIds(anchor.subarray(b * len, (b + 1) * len)), b * len);
  return seg;
}

function filled(n: number, f: (i: number) => number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => f(i));
}

/**
 * Builds the attention mask of `m` and uploads it once; the returned handle owns the device copy
 * (call `dispose()` when done). Segment ids default to anchor-mask's `segmentIds` of the flags.
 */
export function makeAttentionMask(m: MaskInput): AttentionMask {
  const lk = m.lk ?? m.lq;
  const nq = m.batch * m.lq;
  const nk = m.batch * lk;
  const mode = m.mode ?? "anchor";
  const bosVisible = m.bosVisible ?? false;
  const given = (name: string, a: TokenArray | undefined, n: number) => {
    if (a === undefined) return undefined;
    if (!(a instanceof Int32Array || a instanceof Uint8Array))
      throw new ShapeError(
        `makeAttentionMask: ${name} must be an Int32Array or Uint8Array of host values`,
      );
    if (a.length !== n)
      throw new ShapeError(
        `makeAttentionMask: ${name} has ${a.length} values, expected batch * L = ${n}`,
      );
    return Int32Array.from(a);
  };
  const qPos = given("qPos", m.qPos, nq) ?? filled(nq, (i) => i % m.lq);
  const qAnchor = given("qAnchor", m.qAnchor, nq) ?? new Int32Array(nq);
  const qSeg = given("qSeg", m.qSeg, nq) ?? batchSegments(qAnchor, m.batch, m.lq);
  const same = lk === m.lq;
  const kPos = given("kPos", m.kPos, nk) ?? (same ? qPos : filled(nk, (i) => i % lk));
  const kAnchor =
    given("kAnchor", m.kAnchor, nk) ?? (same && !m.kPos ? qAnchor : new Int32Array(nk));
  const kSeg =
    given("kSeg", m.kSeg, nk) ?? (same && !m.kPos ? qSeg : batchSegments(kAnchor, m.batch, lk));
  const qDoc = given("qDoc", m.qDoc, nq);
  const kDoc = given("kDoc", m.kDoc, nk) ?? (same ? qDoc : undefined);
  const kValid = given("kValid", m.kValid, nk) ?? new Int32Array(nk).fill(1);
  const kUntil = given("kUntil", m.kUntil, nk) ?? new Int32Array(nk).fill(NO_EVICTION);
  if ((qDoc === undefined) !== (kDoc === undefined))
    throw new ShapeError("makeAttentionMask: give both qDoc and kDoc or neither");
  const hasDoc = qDoc !== undefined;
  const tokens: TokenArrays = {
    qPos,
    qSeg,
    qAnchor,
    qDoc: qDoc ?? new Int32Array(nq),
    kPos,
    kSeg,
    kAnchor,
    kDoc: kDoc ?? new Int32Array(nk),
    kValid,
    kUntil,
  };
  const structure = attentionStructure(
    { batch: m.batch, lq: m.lq, lk, anchorMode: mode === "anchor", hasDoc, bosVisible },
    tokens,
  );
  const all: Record<string, Int32Array> = { ...tokens, ...structure };
  const off = maskOffsets(nq, nk);
  const host = new Int32Array(maskLength(nq, nk));
  for (const name of MASK_ARRAY_NAMES) host.set(all[name] as Int32Array, off[name]);
  const packed = tensor(host, [host.length], { dtype: "i32", device: m.device });
  packed.kept = true;
  return new MaskHandle(m.batch, m.lq, lk, mode, bosVisible, hasDoc, packed);
}

/** Options of attention. */
export interface AttentionOptions {
  /** Score scale (default 1 / sqrt(headDim)). */
  scale?: number;
  /**
   * GPU kernel family: "auto" (default) takes the tiled kernels on hardware GPUs and, on software
   * adapters, the unrolled ones when headDim % 4 == 0 (else the generic ones); "generic",
   * "unrolled" and "tiled" force a family (tests and benchmarks; "unrolled" needs headDim % 4 == 0).
   */
  kernels?: "auto" | "generic" | "unrolled" | "tiled";
}

/**
 * The kernel family an attention call runs (see AttentionOptions.kernels): the asked one, else
 * the autotuner's choice for the shape class (tuning.ts), else tiled on hardware GPUs and
 * unrolled (headDim % 4 == 0) or generic on software adapters.
 */
function kernelFamily(
  asked: NonNullable<AttentionOptions["kernels"]>,
  backend: Backend,
  batch: number,
  shape: { nHeads: number; nKvHeads: number; lq: number; lk: number; headDim: number },
): AttentionFamily {
  const { headDim } = shape;
  if (asked === "unrolled" && headDim % 4 !== 0)
    throw new ShapeError(`attention: the unrolled kernels need headDim % 4 == 0, got ${headDim}`);
  if (asked !== "auto") return asked;
  let tuned: AttentionFamily | undefined;
  if (tuningActive(backend)) {
    noteWork({ op: "attention", batch, ...shape });
    tuned = tunedChoice(backend, attentionShapeClass(shape)) as AttentionFamily | undefined;
  }
  if (tuned && (tuned !== "unrolled" || headDim % 4 === 0)) return tuned;
  if (!backend.software) return "tiled";
  return headDim % 4 === 0 ? "unrolled" : "generic";
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
  return attentionImpl(q, k, v, mask, opts, false).out;
}

/**
 * `attention` that also returns the column sums of the attention probabilities per KV head,
 * `columnSums` [batch, nKvHeads, lk] (no gradient): the probability mass each key received from
 * the queries of its head group (H2O's heavy-hitter score; zero for keys no query sees).
 */
export function attentionWithColumnSums(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttentionMask,
  opts: AttentionOptions = {},
): { out: Tensor; columnSums: Tensor } {
  const r = attentionImpl(q, k, v, mask, opts, true);
  return { out: r.out, columnSums: r.columnSums as Tensor };
}

function attentionImpl(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttentionMask,
  opts: AttentionOptions,
  wantSums: boolean,
): { out: Tensor; columnSums: Tensor | null } {
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
    hasDoc: mask.hasDoc,
    bosVisible: mask.bosVisible,
    kernels: kernelFamily(opts.kernels ?? "auto", q.backend, batch, {
      nHeads,
      nKvHeads,
      lq,
      lk,
      headDim,
    }),
  };
  const packed = devicePacked.get(mask);
  if (!packed) {
    if (mask instanceof MaskHandle)
      throw new DisposedTensorError("attention: the mask was used after dispose()");
    throw new TypeError("attention: the mask must come from makeAttentionMask");
  }
  if (mask.batch !== batch || mask.lq !== lq || mask.lk !== lk)
    throw new ShapeError(
      `attention: mask is for batch ${mask.batch}, lq ${mask.lq}, lk ${mask.lk}; q [${q.shape}], k [${k.shape}]`,
    );
  const arg = (t: Tensor) => ({ storage: t.storage, dtype: t.dtype });
  // f16 q/k/v give an f16 output; the log-sum-exp the backward pass needs stays f32
  const out = empty(q.shape, floatOut(q, k, v), q);
  const lse = empty([batch, nHeads, lq], "f32", q);
  if (out.size > 0)
    out.backend.run(attentionKernel, p, [arg(q), arg(k), arg(v), arg(packed), arg(out), arg(lse)]);
  const res = attach("attention", out, [q, k, v], [q, k, v, packed, out, lse], (g, s) => {
    const [sq, sk, sv, sm, so, sl] = s as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const dsum = sum(launchElementwise("mul", [g, so], "f32"), -1);
    const dq = empty(q.shape, floatOut(q), g);
    const dk = empty(k.shape, floatOut(k), g);
    const dv = empty(v.shape, floatOut(v), g);
    if (dq.size > 0) {
      const common = [arg(sq), arg(sk), arg(sv), arg(sm), arg(g), arg(sl), arg(dsum)];
      g.backend.run(attentionDqKernel, p, [...common, arg(dq)]);
      g.backend.run(attentionDkvKernel, p, [...common, arg(dk), arg(dv)]);
    }
    return [dq, dk, dv];
  });
  let columnSums: Tensor | null = null;
  if (wantSums) {
    // no queries: no probability mass anywhere
    columnSums =
      out.size > 0
        ? empty([batch, nKvHeads, lk], "f32", q)
        : zeros([batch, nKvHeads, lk], { device: q.device });
    if (out.size > 0 && columnSums.size > 0)
      q.backend.run(attentionColumnSumsKernel, p, [
        arg(q),
        arg(k),
        arg(packed),
        arg(lse),
        arg(columnSums),
      ]);
  }
  lse.dispose();
  return { out: res, columnSums };
}
