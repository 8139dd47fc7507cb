// Shared test helpers: fixture paths, relative-error comparison, random prompts with anchors.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelBatch } from "../src/index";

export const FIXTURES = join(import.meta.dirname, "..", "fixtures");

/** The numpy fixture cases (fixtures/make_fixtures.py). */
export interface FixtureCase {
  name: string;
  attention: "causal" | "anchor";
  batch: number;
  seqLen: number;
  inputIds: number[];
  isAnchor: number[];
  logits: number[];
}

export const fixtures = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8")) as {
  anchorId: number;
  cases: FixtureCase[];
};

/** A fixture case as a model batch. */
export function batchOf(c: FixtureCase): ModelBatch {
  return {
    inputIds: Int32Array.from(c.inputIds),
    isAnchor: Uint8Array.from(c.isAnchor),
    batch: c.batch,
    seqLen: c.seqLen,
    attention: c.attention,
  };
}

/** max |a - e| / max |e| (the "relative" error of a whole tensor). */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length)
    throw new Error(`length ${actual.length} vs ${expected.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i] as number;
    num = Math.max(num, Math.abs((actual[i] as number) - e));
    den = Math.max(den, Math.abs(e));
  }
  return num / den;
}

/** Deterministic PRNG for tests (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random prompt of `len` ids in [3, vocab) with anchor id planted with probability pAnchor. */
export function randomPrompt(
  r: () => number,
  len: number,
  vocab: number,
  anchorId: number,
  pAnchor: number,
) {
  const ids = new Int32Array(len);
  for (let i = 0; i < len; i++) {
    ids[i] = r() < pAnchor ? anchorId : 3 + Math.floor(r() * (vocab - 3));
    if (ids[i] === anchorId && pAnchor === 0) ids[i] = anchorId + 1;
  }
  return ids;
}

/** Random split of n into chunk sizes >= 1. */
export function randomChunking(r: () => number, n: number, maxChunk: number): number[] {
  const out: number[] = [];
  let left = n;
  while (left > 0) {
    const c = Math.min(left, 1 + Math.floor(r() * maxChunk));
    out.push(c);
    left -= c;
  }
  return out;
}
