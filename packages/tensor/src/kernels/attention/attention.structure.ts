// The compact structure the attention kernels iterate (apps/docs/guide/method.md §The compact
// form for kernels): instead of walking every key before a query and testing the rule, a query
// visits three short lists - the keys of its own segment, the slice of the anchor list before it
// and (under `bosVisible`) the document's BOS - and a key visits the queries of its own segment
// plus, for anchor and BOS keys, the later queries of its document. Every allowed pair belongs to
// exactly one of those lists (`pairClass`), so the work is proportional to the allowed pairs.
//
// Built on the host in O(L log L) per sequence (O(L) map updates at run boundaries, binary
// searches only to trim a range to the positions a query may see) from the per-token arrays,
// for any batch, length, chunking and cache layout. Nothing is assumed about the arrays for
// correctness: ranges are supersets of what the rule allows (the kernels still test each pair);
// sortedness only makes them tight.

/** Shapes and flags the structure depends on. */
export interface StructureParams {
  batch: number;
  lq: number;
  lk: number;
  anchorMode: boolean;
  hasDoc: boolean;
  bosVisible: boolean;
}

/** Per-token arrays, row-major [batch, lq] (q*) or [batch, lk] (k*). */
export interface TokenArrays {
  qPos: Int32Array;
  qSeg: Int32Array;
  qAnchor: Int32Array;
  qDoc: Int32Array;
  kPos: Int32Array;
  kSeg: Int32Array;
  kAnchor: Int32Array;
  kDoc: Int32Array;
  kValid: Int32Array;
  /**
   * first query position that no longer sees each key (default: never). The structure ignores it
   * (its ranges stay supersets); the kernels test it per pair.
   */
  kUntil?: Int32Array;
}

/**
 * The compact structure. Ranges are [lo, hi) (empty when hi <= lo); list slices index the
 * sequence's part of the list (entry b * lk + a holds the a-th entry of sequence b).
 */
export interface AttentionStructure {
  /** [batch, lq] keys of the query's own segment (class 1) */
  qSegLo: Int32Array;
  qSegHi: Int32Array;
  /** [batch, lq] slice of `anchorKeys` (class 2 candidates) */
  qAncLo: Int32Array;
  qAncHi: Int32Array;
  /** [batch, lq] slice of `bosKeys` (class 3 candidates) */
  qBosLo: Int32Array;
  qBosHi: Int32Array;
  /** [batch, lk] per sequence: the valid keys that are anchors (or keep-full), increasing */
  anchorKeys: Int32Array;
  /** [batch, lk] per sequence: the valid keys at position 0 (bosVisible only), increasing */
  bosKeys: Int32Array;
  /** [batch, lk] queries of the key's own segment (class 1) */
  kSegLo: Int32Array;
  kSegHi: Int32Array;
  /** [batch, lk] queries that may see the key as an anchor or BOS (classes 2, 3) */
  kOtherLo: Int32Array;
  kOtherHi: Int32Array;
  /**
   * [batch, lk] per sequence, the order in which dK/dV takes key rows: keys with a kOther range
   * (about L/2 queries each) first, then the rest (a segment's worth each), so that rows of
   * similar work run side by side
   */
  keyOrder: Int32Array;
}

/**
 * Which of the three lists an allowed pair belongs to: 0 blocked, 1 same segment (or causal
 * mode), 2 an anchor seen by a non-anchor query, 3 the BOS under `bosVisible`. The same function
 * as `pairClass` in the WGSL (attention.wgsl.ts); allowed(i, j) iff the class is not 0.
 */
export function pairClass(
  p: Pick<StructureParams, "anchorMode" | "hasDoc" | "bosVisible">,
  q: { pos: number; seg: number; anchor: number; doc: number },
  k: { pos: number; seg: number; anchor: number; doc: number; valid: number },
): 0 | 1 | 2 | 3 {
  if (k.valid === 0 || k.pos > q.pos) return 0;
  if (p.hasDoc && q.doc !== k.doc) return 0;
  if (!p.anchorMode || q.seg === k.seg) return 1;
  if (k.anchor !== 0 && q.anchor === 0) return 2;
  if (p.bosVisible && k.pos === 0) return 3;
  return 0;
}

/** Prefix count of descents: d[t] = #{1 <= u <= t : a[off + u] < a[off + u - 1]}. */
function descents(a: Int32Array, off: number, n: number, out: Int32Array): Int32Array {
  let c = 0;
  for (let t = 0; t < n; t++) {
    if (t > 0 && (a[off + t] as number) < (a[off + t - 1] as number)) c++;
    out[t] = c;
  }
  return out;
}

/** Whether a[off + lo .. off + hi) is non-decreasing, from its descent prefix counts. */
function sorted(d: Int32Array, lo: number, hi: number): boolean {
  return hi - lo < 2 || d[hi - 1] === d[lo];
}

/**
 * Bound searches over a non-decreasing slice of `values` (from `off`): the first t in [lo, hi)
 * with values[off + t] > x (`upper`) or >= x. A search over the same range with an x that did
 * not decrease resumes from the last answer (consecutive tokens: amortised O(1)); otherwise it
 * bisects.
 */
class BoundCursor {
  private lo = -1;
  private hi = -1;
  private x = Number.NEGATIVE_INFINITY;
  private at = 0;

  constructor(
    private readonly values: Int32Array,
    private readonly off: number,
    private readonly upper: boolean,
  ) {}

  private before(t: number, x: number): boolean {
    const v = this.values[this.off + t] as number;
    return this.upper ? v <= x : v < x;
  }

  find(lo: number, hi: number, x: number): number {
    let t: number;
    if (lo === this.lo && hi === this.hi && x >= this.x) {
      t = this.at;
      while (t < hi && this.before(t, x)) t++;
    } else {
      let a = lo;
      let b = hi;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (this.before(mid, x)) a = mid + 1;
        else b = mid;
      }
      t = a;
    }
    this.lo = lo;
    this.hi = hi;
    this.x = x;
    this.at = t;
    return t;
  }
}

/**
 * Ranges [min, max + 1) of the indices t in [0, n) grouped by (doc[off + t], seg[off + t]) (a null
 * array reads as 0), skipping t with valid[off + t] == 0 (null: none skipped); the map is touched
 * once per run of equal pairs, so its string keys are built only there.
 */
function groupRanges(
  n: number,
  off: number,
  doc: Int32Array | null,
  seg: Int32Array | null,
  valid: Int32Array | null,
): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let runDoc = 0;
  let runSeg = 0;
  let runLo = -1;
  let runHi = -1;
  const flush = () => {
    if (runLo < 0) return;
    const key = `${runDoc}:${runSeg}`;
    const r = out.get(key);
    if (r) {
      r[0] = Math.min(r[0], runLo);
      r[1] = Math.max(r[1], runHi);
    } else out.set(key, [runLo, runHi]);
  };
  for (let t = 0; t < n; t++) {
    if (valid !== null && valid[off + t] === 0) continue;
    const d = doc === null ? 0 : (doc[off + t] as number);
    const g = seg === null ? 0 : (seg[off + t] as number);
    if (runLo >= 0 && d === runDoc && g === runSeg && runHi === t) {
      runHi = t + 1;
      continue;
    }
    flush();
    runDoc = d;
    runSeg = g;
    runLo = t;
    runHi = t + 1;
  }
  flush();
  return out;
}

/** A looked-up range [lo, hi) and whether its values are sorted (so bounds can be searched). */
interface RangeInfo {
  lo: number;
  hi: number;
  sorted: boolean;
}
const NO_RANGE: RangeInfo = { lo: 0, hi: 0, sorted: true };

function rangeInfo(r: [number, number] | undefined, desc: Int32Array): RangeInfo {
  if (!r) return NO_RANGE;
  return { lo: r[0], hi: r[1], sorted: sorted(desc, r[0], r[1]) };
}

/** Looks (doc, seg) up in a groupRanges map, remembering the last answer (runs repeat it). */
function lookup(m: Map<string, [number, number]>) {
  let lastDoc = Number.NaN;
  let lastSeg = Number.NaN;
  let last: [number, number] | undefined;
  return (d: number, g: number): [number, number] | undefined => {
    if (d !== lastDoc || g !== lastSeg) {
      lastDoc = d;
      lastSeg = g;
      last = m.get(`${d}:${g}`);
    }
    return last;
  };
}

/** Builds the compact structure of every sequence of the batch. */
export function attentionStructure(p: StructureParams, a: TokenArrays): AttentionStructure {
  const { batch, lq, lk } = p;
  const nq = batch * lq;
  const nk = batch * lk;
  const s: AttentionStructure = {
    qSegLo: new Int32Array(nq),
    qSegHi: new Int32Array(nq),
    qAncLo: new Int32Array(nq),
    qAncHi: new Int32Array(nq),
    qBosLo: new Int32Array(nq),
    qBosHi: new Int32Array(nq),
    anchorKeys: new Int32Array(nk),
    bosKeys: new Int32Array(nk),
    kSegLo: new Int32Array(nk),
    kSegHi: new Int32Array(nk),
    kOtherLo: new Int32Array(nk),
    kOtherHi: new Int32Array(nk),
    keyOrder: new Int32Array(nk),
  };
  const kDesc = new Int32Array(lk);
  const qDesc = new Int32Array(lq);
  const aDesc = new Int32Array(lk);
  for (let b = 0; b < batch; b++) buildSequence(p, a, s, b, kDesc, qDesc, aDesc);
  return s;
}

function buildSequence(
  p: StructureParams,
  a: TokenArrays,
  s: AttentionStructure,
  b: number,
  kDesc: Int32Array,
  qDesc: Int32Array,
  aDesc: Int32Array,
): void {
  const { lq, lk, anchorMode, hasDoc, bosVisible } = p;
  const qo = b * lq;
  const ko = b * lk;
  const doc = (arr: Int32Array, t: number) => (hasDoc ? (arr[t] as number) : 0);
  const kValid = (j: number) => a.kValid[ko + j] !== 0;
  const kPos = (j: number) => a.kPos[ko + j] as number;
  const qPos = (i: number) => a.qPos[qo + i] as number;

  // key side: segment ranges, anchor and BOS lists (valid keys only) with per-document slices
  const docs = (arr: Int32Array) => (hasDoc ? arr : null);
  // causal mode: one "segment" per document
  const segs = (arr: Int32Array) => (anchorMode ? arr : null);
  const keySegs = lookup(groupRanges(lk, ko, docs(a.kDoc), segs(a.kSeg), a.kValid));
  let nAnc = 0;
  let nBos = 0;
  // per document: the slice of each list (keys are `${doc}:0`, as lookup() reads them)
  const ancDocs = new Map<string, [number, number]>();
  const bosDocs = new Map<string, [number, number]>();
  const addSlice = (m: Map<string, [number, number]>, d: number, idx: number) => {
    const r = m.get(`${d}:0`);
    if (r) r[1] = idx + 1;
    else m.set(`${d}:0`, [idx, idx + 1]);
  };
  if (anchorMode) {
    for (let j = 0; j < lk; j++) {
      if (!kValid(j)) continue;
      if (a.kAnchor[ko + j] !== 0) {
        s.anchorKeys[ko + nAnc] = j;
        addSlice(ancDocs, doc(a.kDoc, ko + j), nAnc++);
      }
      if (bosVisible && kPos(j) === 0) {
        s.bosKeys[ko + nBos] = j;
        addSlice(bosDocs, doc(a.kDoc, ko + j), nBos++);
      }
    }
  }
  descents(a.kPos, ko, lk, kDesc);
  const ancPos = new Int32Array(nAnc);
  for (let x = 0; x < nAnc; x++) ancPos[x] = kPos(s.anchorKeys[ko + x] as number);
  descents(ancPos, 0, nAnc, aDesc);
  const segEnd = new BoundCursor(a.kPos, ko, true);
  const ancEnd = new BoundCursor(ancPos, 0, true);
  const ancOfDoc = lookup(ancDocs);
  const bosOfDoc = lookup(bosDocs);

  // queries: own segment's keys up to the query's position; anchors of the document before it
  const qTok = (i: number) => ({
    pos: qPos(i),
    seg: a.qSeg[qo + i] as number,
    anchor: a.qAnchor[qo + i] as number,
    doc: a.qDoc[qo + i] as number,
  });
  const kTok = (j: number) => ({
    pos: kPos(j),
    seg: a.kSeg[ko + j] as number,
    anchor: a.kAnchor[ko + j] as number,
    doc: a.kDoc[ko + j] as number,
    valid: a.kValid[ko + j] as number,
  });
  // hot loops: typed arrays hoisted into locals, ranges (and whether they are sorted) looked up
  // only when the (document, segment) changes from the previous token
  const { qSegLo, qSegHi, qAncLo, qAncHi, qBosLo, qBosHi } = s;
  const qDocA = a.qDoc;
  const qSegA = a.qSeg;
  const qAnchorA = a.qAnchor;
  const qPosA = a.qPos;
  let lastDoc = Number.NaN;
  let lastSeg = Number.NaN;
  let seg = NO_RANGE;
  let anc = NO_RANGE;
  let bos: [number, number] | undefined;
  for (let i = 0; i < lq; i++) {
    const t = qo + i;
    const d = hasDoc ? (qDocA[t] as number) : 0;
    const g = anchorMode ? (qSegA[t] as number) : 0;
    const pos = qPosA[t] as number;
    if (d !== lastDoc || g !== lastSeg) {
      seg = rangeInfo(keySegs(d, g), kDesc);
      if (d !== lastDoc) [anc, bos] = [rangeInfo(ancOfDoc(d, 0), aDesc), bosOfDoc(d, 0)];
      [lastDoc, lastSeg] = [d, g];
    }
    qSegLo[t] = seg.lo;
    qSegHi[t] = seg.sorted ? segEnd.find(seg.lo, seg.hi, pos) : seg.hi;
    if (!anchorMode) continue;
    if (qAnchorA[t] === 0) {
      qAncLo[t] = anc.lo;
      qAncHi[t] = anc.sorted ? ancEnd.find(anc.lo, anc.hi, pos) : anc.hi;
    }
    if (bos) {
      // a lone BOS that the query sees as its own segment or as an anchor is not listed twice
      const lone = bos[1] - bos[0] === 1;
      if (!lone || pairClass(p, qTok(i), kTok(s.bosKeys[ko + bos[0]] as number)) === 3) {
        qBosLo[t] = bos[0];
        qBosHi[t] = bos[1];
      }
    }
  }

  // keys: the queries of their own segment from their position on; anchor and BOS keys also the
  // rest of their document
  const querySegs = lookup(groupRanges(lq, qo, docs(a.qDoc), segs(a.qSeg), null));
  const queryDocs = lookup(groupRanges(lq, qo, docs(a.qDoc), null, null));
  descents(a.qPos, qo, lq, qDesc);
  const segStart = new BoundCursor(a.qPos, qo, false);
  const otherStart = new BoundCursor(a.qPos, qo, false);
  const { kSegLo, kSegHi, kOtherLo, kOtherHi } = s;
  const kDocA = a.kDoc;
  const kSegA = a.kSeg;
  const kAnchorA = a.kAnchor;
  const kPosA = a.kPos;
  const kValidA = a.kValid;
  lastDoc = Number.NaN;
  lastSeg = Number.NaN;
  let rest = NO_RANGE;
  for (let j = 0; j < lk; j++) {
    const t = ko + j;
    if (kValidA[t] === 0) continue;
    const d = hasDoc ? (kDocA[t] as number) : 0;
    const g = anchorMode ? (kSegA[t] as number) : 0;
    const pos = kPosA[t] as number;
    if (d !== lastDoc || g !== lastSeg) {
      seg = rangeInfo(querySegs(d, g), qDesc);
      if (d !== lastDoc) rest = rangeInfo(queryDocs(d, 0), qDesc);
      [lastDoc, lastSeg] = [d, g];
    }
    kSegLo[t] = seg.sorted ? segStart.find(seg.lo, seg.hi, pos) : seg.lo;
    kSegHi[t] = seg.hi;
    if (!anchorMode) continue;
    if (kAnchorA[t] !== 0 || (bosVisible && pos === 0)) {
      kOtherLo[t] = rest.sorted ? otherStart.find(rest.lo, rest.hi, pos) : rest.lo;
      kOtherHi[t] = rest.hi;
    }
  }
  let slot = ko;
  for (let j = 0; j < lk; j++)
    if ((s.kOtherHi[ko + j] as number) > (s.kOtherLo[ko + j] as number)) s.keyOrder[slot++] = j;
  for (let j = 0; j < lk; j++)
    if ((s.kOtherHi[ko + j] as number) <= (s.kOtherLo[ko + j] as number)) s.keyOrder[slot++] = j;
}
