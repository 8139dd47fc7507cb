// Anchor KV cache (apps/docs/guide/method.md): chunked cached inference must give the same logits as one
// full forward with the anchor mask (original positions), for random prompts/chunkings, batch 1 and 3.

import { join } from "node:path";
import type { Device, Tensor } from "@anllm/tensor";
import { describeDevices } from "@anllm/tensor/testing";
import { expect, it } from "vitest";
import type { KVCache, Llama2 } from "../src/index";
import { loadModel } from "../src/node";
import { FIXTURES, fixtures, randomChunking, randomPrompt, relError, rng } from "./helpers";

const A = fixtures.anchorId;
const flags = (ids: Int32Array) => Uint8Array.from(ids, (t) => (t === A ? 1 : 0));

/** Full-forward logits of one sequence: [L * vocab]. */
async function fullLogits(
  model: Llama2,
  ids: Int32Array,
  attention: "anchor" | "causal",
  keepFull?: [number, number][],
) {
  const t = model.forward({
    inputIds: ids,
    isAnchor: flags(ids),
    batch: 1,
    seqLen: ids.length,
    attention,
    keepFull,
  });
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

/** Run prompts through `cache` with per-sequence chunkings; returns each sequence's logits rows. */
async function cachedLogits(
  model: Llama2,
  cache: KVCache,
  prompts: Int32Array[],
  chunkings: number[][],
) {
  const V = model.config.vocabSize;
  const rows: number[][] = prompts.map(() => []);
  const offs = prompts.map(() => 0);
  const steps = Math.max(...chunkings.map((c) => c.length));
  for (let s = 0; s < steps; s++) {
    const chunks = prompts.map((p, b) => {
      const o = offs[b] as number;
      return p.subarray(o, o + (chunkings[b]?.[s] ?? 0));
    });
    const out: Tensor = model.forwardChunk(cache, chunks, { isAnchor: chunks.map(flags) });
    const d = (await out.data()) as Float32Array;
    const lq = out.shape[1] as number;
    out.dispose();
    chunks.forEach((c, b) => {
      const row = rows[b] as number[];
      for (let i = 0; i < c.length; i++)
        row.push(...d.subarray((b * lq + i) * V, (b * lq + i + 1) * V));
      offs[b] = (offs[b] as number) + c.length;
    });
  }
  return rows;
}

async function checkEquality(model: Llama2, seed: number, batch: number, pAnchor: number) {
  const r = rng(seed);
  const prompts = Array.from({ length: batch }, () =>
    randomPrompt(r, 4 + Math.floor(r() * 20), 64, A, pAnchor),
  );
  const chunkings = prompts.map((p) => randomChunking(r, p.length, 1 + Math.floor(r() * 8)));
  const cache = model.createCache({ batch, policy: "anchor" });
  const rows = await cachedLogits(model, cache, prompts, chunkings);
  for (const [b, p] of prompts.entries()) {
    const err = relError(rows[b] as number[], await fullLogits(model, p, "anchor"));
    expect(err, `seed ${seed} seq ${b} chunks ${chunkings[b]}`).toBeLessThan(1e-4);
    const nA = p.reduce((a, t) => a + (t === A ? 1 : 0), 0);
    const lastA = p.lastIndexOf(A);
    expect(cache.lengths()[b]).toBe(lastA < 0 ? p.length : nA + p.length - 1 - lastA);
  }
  cache.dispose();
}

describeDevices("anchor KV cache", (getDevice: () => Device) => {
  const load = () => loadModel(join(FIXTURES, "tiny-gqa"), { device: getDevice() });

  it("batch 1: random chunkings with anchors equal the masked full forward", async () => {
    const model = await load();
    for (let seed = 1; seed <= 6; seed++) await checkEquality(model, seed, 1, 0.25);
    model.dispose();
  });

  it("batch 1: prompts without anchors (plain causal) equal the full forward", async () => {
    const model = await load();
    for (let seed = 11; seed <= 13; seed++) await checkEquality(model, seed, 1, 0);
    model.dispose();
  });

  it("batch 3: ragged prompts, per-sequence chunkings, with and without anchors", async () => {
    const model = await load();
    for (let seed = 21; seed <= 24; seed++) await checkEquality(model, seed, 3, seed % 2 ? 0.3 : 0);
    model.dispose();
  });

  it("full policy with causal attention equals the causal forward and keeps every row", async () => {
    const model = await load();
    const r = rng(5);
    const p = randomPrompt(r, 17, 64, A, 0.3);
    const cache = model.createCache({ batch: 1, policy: "full" });
    const rows = await cachedLogits(model, cache, [p], [[5, 1, 7, 4]]);
    expect(relError(rows[0] as number[], await fullLogits(model, p, "causal"))).toBeLessThan(1e-4);
    expect(cache.stats().entries).toEqual([17]);
    cache.dispose();
    model.dispose();
  });

  it("keepFull keeps its rows and equals the forward with that range visible", async () => {
    const model = await load();
    const p = Int32Array.of(1, 5, 9, A, 11, 12, A, 13, A, 14, 15, 16);
    const cache = model.createCache({ batch: 1, policy: "anchor", keepFull: [[1, 3]] });
    const rows = await cachedLogits(model, cache, [p], [[2, 3, 1, 4, 2]]);
    expect(
      relError(rows[0] as number[], await fullLogits(model, p, "anchor", [[1, 3]])),
    ).toBeLessThan(1e-4);
    // kept: positions 1, 2 (range), anchors 3, 6, 8, open segment 9..11
    expect(cache.stats().entries).toEqual([8]);
    cache.dispose();
    model.dispose();
  });

  it("bosVisible option: BOS stays cached and visible; equals the forward with the option", async () => {
    const model = await load();
    const p = Int32Array.of(1, 5, 9, A, 11, 12, A, 13, 14);
    const cache = model.createCache({ batch: 1, policy: "anchor", bosVisible: true });
    const rows = await cachedLogits(model, cache, [p], [[3, 2, 2, 2]]);
    const t = model.forward({
      inputIds: p,
      isAnchor: flags(p),
      batch: 1,
      seqLen: p.length,
      attention: "anchor",
      bosVisible: true,
    });
    const full = (await t.data()) as Float32Array;
    t.dispose();
    expect(relError(rows[0] as number[], full)).toBeLessThan(1e-4);
    expect(relError(rows[0] as number[], await fullLogits(model, p, "anchor"))).toBeGreaterThan(
      1e-3,
    );
    expect(cache.stats().entries).toEqual([1 + 2 + 2]); // BOS, anchors 3 and 6, open 7..8
    cache.dispose();
    model.dispose();
  });
});
