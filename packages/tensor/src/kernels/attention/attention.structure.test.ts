// The compact structure the kernels iterate: on random layouts (anchors anywhere, consecutive, at 0
// and at the end; packed documents; padding; bosVisible; keep-full keys; chunked inference against
// a reduced cache with empty slots; causal mode; and arbitrary unsorted arrays) every allowed pair
// is visited exactly once from the query side and once from the key side, no blocked pair is
// accepted, and on hole-free layouts the visits equal the allowed pairs (no O(L^2) walk).
import { AnchorCacheState, segmentIds } from "@anllm/anchor-mask";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../random";
import { maskLength, maskOffsets } from "./attention.layout";
import { type AttentionParams, attentionVisits, maskRule, structureWalkers } from "./attention.ref";
import { attentionStructure, type TokenArrays } from "./attention.structure";

type Rng = ReturnType<typeof seededRandom>;

interface Case {
  p: AttentionParams;
  tokens: TokenArrays;
  /**
   * no padding inside a visited range and no keep-full key: visits must equal the allowed pairs
   * (a keep-full key of the query's own segment is listed as an anchor too: visited twice)
   */
  holeFree: boolean;
}

const head = { nHeads: 1, nKvHeads: 1, headDim: 1, scale: 1 };

const segIds = (anchor: Int32Array) => Int32Array.from(segmentIds(anchor));

/** One training-style row (Lq == Lk). */
function trainingRow(r: Rng, L: number, o: { docs: boolean; pad: number; leftPad: boolean }) {
  const pA = [0, 0.05, 0.2, 0.6][Math.floor(r.next() * 4)] as number;
  const anchor = Int32Array.from({ length: L }, () => +(r.next() < pA));
  if (r.next() < 0.3) anchor[0] = 1;
  if (r.next() < 0.3) anchor[L - 1] = 1;
  const doc = new Int32Array(L);
  const pos = new Int32Array(L);
  let d = 0;
  let p = 0;
  for (let t = 0; t < L; t++) {
    if (o.docs && t > 0 && r.next() < 0.08) {
      d++;
      p = 0;
    }
    doc[t] = d;
    pos[t] = p++;
  }
  const valid = Int32Array.from({ length: L }, (_, t) =>
    o.leftPad ? +(t >= o.pad) : +(t < L - o.pad),
  );
  return { anchor, doc, pos, valid, seg: segIds(anchor) };
}

function cat(rows: Int32Array[]): Int32Array {
  return Int32Array.from(rows.flatMap((a) => Array.from(a)));
}

function trainingCase(r: Rng): Case {
  const batch = 1 + Math.floor(r.next() * 3);
  const L = 1 + Math.floor(r.next() * 40);
  const docs = r.next() < 0.5;
  const rows = Array.from({ length: batch }, () => {
    const pad = r.next() < 0.3 ? Math.floor(r.next() * Math.min(L, 6)) : 0;
    return trainingRow(r, L, { docs, pad, leftPad: r.next() < 0.3 });
  });
  const anchorMode = r.next() < 0.85;
  const bosVisible = r.next() < 0.4;
  const keepFull = r.next() < 0.3 ? [Math.floor(r.next() * L), Math.floor(r.next() * L)] : null;
  const kAnchor = rows.map((x) =>
    Int32Array.from(x.anchor, (a, t) =>
      keepFull && t >= keepFull[0]! && t < keepFull[1]! ? 1 : a,
    ),
  );
  const qPos = cat(rows.map((x) => x.pos));
  const qDoc = cat(rows.map((x) => x.doc));
  const kValid = cat(rows.map((x) => x.valid));
  // left padding puts holes before real keys; right padding is never inside a visited range
  const holeFree = !rows.some((x) => x.valid[0] === 0) && !keepFull;
  return {
    p: { ...head, batch, lq: L, lk: L, anchorMode, hasDoc: docs, bosVisible },
    tokens: {
      qPos,
      qSeg: cat(rows.map((x) => x.seg)),
      qAnchor: cat(rows.map((x) => x.anchor)),
      qDoc,
      kPos: qPos,
      kSeg: cat(rows.map((x) => x.seg)),
      kAnchor: cat(kAnchor),
      kDoc: qDoc,
      kValid,
    },
    holeFree,
  };
}

/** Chunked inference: the cache state's arrays for one chunk, keys padded to a capacity. */
function chunkedCase(r: Rng): Case {
  const N = 2 + Math.floor(r.next() * 50);
  const anchor = Int32Array.from({ length: N }, () => +(r.next() < 0.2));
  const bosVisible = r.next() < 0.4;
  const keep: [number, number][] = r.next() < 0.3 ? [[0, 1 + Math.floor(r.next() * 4)]] : [];
  const state = new AnchorCacheState({
    bosVisible,
    keepFull: keep,
    policy: r.next() < 0.2 ? "full" : "anchor",
  });
  const c0 = Math.floor(r.next() * (N - 1));
  if (c0 > 0) state.append(anchor.subarray(0, c0));
  const c1 = c0 + 1 + Math.floor(r.next() * (N - c0));
  const step = state.append(anchor.subarray(c0, Math.min(c1, N)));
  const spare = Math.floor(r.next() * 4);
  const lk = step.kPos.length + spare;
  const pad = (a: Int32Array) => {
    const out = new Int32Array(lk);
    out.set(a);
    return out;
  };
  const kValid = new Int32Array(lk);
  kValid.fill(1, 0, step.kPos.length);
  const lq = step.qPos.length;
  return {
    p: { ...head, batch: 1, lq, lk, anchorMode: true, hasDoc: false, bosVisible },
    tokens: {
      qPos: step.qPos,
      qSeg: step.qSeg,
      qAnchor: step.qAnchor,
      qDoc: new Int32Array(lq),
      kPos: pad(step.kPos),
      kSeg: pad(step.kSeg),
      kAnchor: pad(step.kAnchor),
      kDoc: new Int32Array(lk),
      kValid,
    },
    holeFree: keep.length === 0,
  };
}

/** Arbitrary arrays (unsorted positions, segments, documents): the structure must stay correct. */
function arbitraryCase(r: Rng): Case {
  const lq = 1 + Math.floor(r.next() * 12);
  const lk = 1 + Math.floor(r.next() * 12);
  const small = (n: number, k: number) =>
    Int32Array.from({ length: n }, () => Math.floor(r.next() * k));
  return {
    p: {
      ...head,
      batch: 2,
      lq,
      lk,
      anchorMode: r.next() < 0.8,
      hasDoc: r.next() < 0.5,
      bosVisible: r.next() < 0.5,
    },
    tokens: {
      qPos: small(2 * lq, 6),
      qSeg: small(2 * lq, 3),
      qAnchor: small(2 * lq, 2),
      qDoc: small(2 * lq, 2),
      kPos: small(2 * lk, 6),
      kSeg: small(2 * lk, 3),
      kAnchor: small(2 * lk, 2),
      kDoc: small(2 * lk, 2),
      kValid: Int32Array.from({ length: 2 * lk }, () => +(r.next() < 0.8)),
      // a cache policy's eviction bound: some keys leave before the last query
      kUntil: Int32Array.from({ length: 2 * lk }, () =>
        r.next() < 0.5 ? 2147483647 : Math.floor(r.next() * 7),
      ),
    },
    holeFree: false,
  };
}

function pack(c: Case): Int32Array {
  const nq = c.p.batch * c.p.lq;
  const nk = c.p.batch * c.p.lk;
  const all: Record<string, Int32Array> = {
    kUntil: new Int32Array(nk).fill(2147483647),
    ...c.tokens,
    ...attentionStructure(c.p, c.tokens),
  };
  const off = maskOffsets(nq, nk);
  const out = new Int32Array(maskLength(nq, nk));
  for (const [name, o] of Object.entries(off)) out.set(all[name] as Int32Array, o);
  return out;
}

function check(c: Case, what: string): void {
  const { keyOrder } = attentionStructure(c.p, c.tokens);
  for (let b = 0; b < c.p.batch; b++) {
    const order = Array.from(keyOrder.subarray(b * c.p.lk, (b + 1) * c.p.lk));
    expect(
      order.sort((x, y) => x - y),
      `${what}: keyOrder is a permutation`,
    ).toEqual([...Array(c.p.lk).keys()]);
  }
  const mask = pack(c);
  const rule = maskRule(c.p, mask);
  const walk = structureWalkers(c.p, mask);
  for (let b = 0; b < c.p.batch; b++) {
    for (let i = 0; i < c.p.lq; i++) {
      const seen: number[] = [];
      walk.keys(b, i, (j) => seen.push(j));
      const want = [...Array(c.p.lk).keys()].filter((j) => rule(b, i, j));
      expect(
        [...seen].sort((x, y) => x - y),
        `${what}: keys of query ${b}/${i}`,
      ).toEqual(want);
    }
    for (let j = 0; j < c.p.lk; j++) {
      const seen: number[] = [];
      walk.queries(b, j, (i) => seen.push(i));
      const want = [...Array(c.p.lq).keys()].filter((i) => rule(b, i, j));
      expect(
        [...seen].sort((x, y) => x - y),
        `${what}: queries of key ${b}/${j}`,
      ).toEqual(want);
    }
  }
  if (c.holeFree) {
    const v = attentionVisits(c.p, mask);
    expect(v.queryVisits, `${what}: query-side visits`).toBe(v.allowed);
    // the key side also walks an anchor key's whole document (later anchors are then skipped)
    expect(v.keyHits, `${what}: key-side hits`).toBe(v.allowed);
  }
}

describe("attention compact structure", () => {
  it("training layouts: every allowed pair visited once from each side; visits = allowed", () => {
    const r = seededRandom(11);
    for (let n = 0; n < 400; n++) check(trainingCase(r), `training case ${n}`);
  });

  it("chunked inference against the reduced cache (keep-full, BOS, empty slots)", () => {
    const r = seededRandom(12);
    for (let n = 0; n < 400; n++) check(chunkedCase(r), `chunked case ${n}`);
  });

  it("arbitrary unsorted arrays: still exact (ranges widen, the class test filters)", () => {
    const r = seededRandom(13);
    for (let n = 0; n < 400; n++) check(arbitraryCase(r), `arbitrary case ${n}`);
  });

  it("sentence-like layouts visit L x (segment + anchors) pairs, not L^2", () => {
    // 8192 tokens, an anchor every 20: 1,676,160 allowed pairs per head (the figure the docs quote)
    // against 33,558,528 for causal attention
    const L = 8192;
    const anchor = Int32Array.from({ length: L }, (_, t) => +(t % 20 === 19));
    const pos = Int32Array.from({ length: L }, (_, t) => t);
    const seg = segIds(anchor);
    const p = {
      ...head,
      batch: 1,
      lq: L,
      lk: L,
      anchorMode: true,
      hasDoc: false,
      bosVisible: false,
    };
    const tokens = {
      qPos: pos,
      qSeg: seg,
      qAnchor: anchor,
      qDoc: new Int32Array(L),
      kPos: pos,
      kSeg: seg,
      kAnchor: anchor,
      kDoc: new Int32Array(L),
      kValid: new Int32Array(L).fill(1),
    };
    const v = attentionVisits(p, pack({ p, tokens, holeFree: true }));
    expect(v.allowed).toBe(1_676_160);
    expect((L * (L + 1)) / 2).toBe(33_558_528);
    expect(v.queryVisits).toBe(v.allowed);
    expect(v.keyVisits).toBeLessThan(1.1 * v.allowed);
  });
});
