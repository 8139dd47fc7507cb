// Generation and cache bookkeeping: greedy decoding agrees across cache modes (anchor / full /
// recompute), seeded sampling is reproducible, EOS and max tokens stop, stats and clone are right.

import { join } from "node:path";
import { initDevice, seededRandom } from "@anllm/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import { generate, Llama2, PRESETS, sampleToken } from "../src/index";
import { loadModel } from "../src/node";
import { FIXTURES, fixtures } from "./helpers";

const A = fixtures.anchorId;
let model: Llama2;

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
  model = await loadModel(join(FIXTURES, "tiny-gqa"));
});

describe("generate", () => {
  const p0 = Int32Array.of(1, 9, 23, A, 40, 41, A, 5);
  const p1 = Int32Array.of(1, 30, 31, 32, A, 12);
  const prompts = [p0, p1];
  const toks = (r: { tokens: Int32Array[] }, b: number) => [...(r.tokens[b] as Int32Array)];

  it("greedy: anchor cache == recompute with the anchor mask, any prefill chunk size, batch 2", async () => {
    const base = await generate(model, prompts, {
      maxNewTokens: 10,
      cache: "none",
      anchorIds: [A],
      eosId: -1,
    });
    for (const chunkSize of [1, 3, 100]) {
      const g = await generate(model, prompts, {
        maxNewTokens: 10,
        cache: "anchor",
        anchorIds: [A],
        chunkSize,
        eosId: -1,
      });
      expect(g.tokens.map((t) => [...t])).toEqual(base.tokens.map((t) => [...t]));
    }
    // batch 1 gives the same tokens as the same prompt inside a batch
    const one = await generate(model, [p1], {
      maxNewTokens: 10,
      cache: "anchor",
      anchorIds: [A],
      eosId: -1,
    });
    expect(toks(one, 0)).toEqual(toks(base, 1));
  });

  it("greedy: full cache == recompute with causal attention", async () => {
    const a = await generate(model, prompts, { maxNewTokens: 8, cache: "full", eosId: -1 });
    const b = await generate(model, prompts, { maxNewTokens: 8, cache: "none", eosId: -1 });
    expect(a.tokens.map((t) => [...t])).toEqual(b.tokens.map((t) => [...t]));
    expect(a.stats.entries).toEqual([8 + 7, 6 + 7]);
    expect(a.stats.fullEntries).toEqual(a.stats.entries);
  });

  it("full cache with the anchor rule gives the anchor-cache tokens, keeping every row", async () => {
    const o = { maxNewTokens: 8, anchorIds: [A], eosId: -1 };
    const reduced = await generate(model, prompts, { ...o, cache: "anchor" });
    const full = await generate(model, prompts, { ...o, cache: "full", attention: "anchor" });
    expect(full.tokens).toEqual(reduced.tokens);
    expect(full.stats.entries).toEqual(full.stats.fullEntries);
    expect(reduced.stats.bytes).toBeLessThan(full.stats.bytes);
  });

  it("seeded sampling is reproducible; top-k 1 is greedy; EOS stops", async () => {
    const o = {
      maxNewTokens: 12,
      cache: "anchor" as const,
      anchorIds: [A],
      temperature: 1.5,
      eosId: -1,
    };
    const s1 = await generate(model, prompts, { ...o, seed: 3 });
    const s2 = await generate(model, prompts, { ...o, seed: 3 });
    const s3 = await generate(model, prompts, { ...o, seed: 4 });
    expect(s1.tokens).toEqual(s2.tokens);
    expect(s1.tokens).not.toEqual(s3.tokens);
    const greedy = await generate(model, prompts, { ...o, temperature: 0 });
    const topk1 = await generate(model, prompts, { ...o, topK: 1, seed: 9 });
    expect(topk1.tokens).toEqual(greedy.tokens);
    const eos = toks(greedy, 0)[2] as number;
    const stopped = await generate(model, prompts, { ...o, temperature: 0, eosId: eos });
    expect(toks(stopped, 0).length).toBe(toks(greedy, 0).indexOf(eos) + 1);
  });

  it("reports cache reduction: entries = anchors + open segment; bytes follow", async () => {
    const p = Int32Array.of(1, 3, 4, A, 5, 6, 8, A, 9, 10, 11, A, 12, 13, A, 14, 15);
    const cache = model.createCache({ batch: 1, policy: "anchor" });
    for (let i = 0; i < p.length; i++) {
      model
        .forwardChunk(cache, [p.subarray(i, i + 1)], {
          isAnchor: [Uint8Array.of(p[i] === A ? 1 : 0)],
        })
        .dispose();
    }
    const s = cache.stats();
    const perEntry = 2 * model.config.nLayers * model.config.nKvHeads * model.config.headDim * 4;
    expect(s.entries).toEqual([4 + 2]);
    expect(s.fullEntries).toEqual([17]);
    expect(s.bytes).toBe(6 * perEntry);
    expect(s.fullBytes).toBe(17 * perEntry);
    expect(s.peakEntries[0]).toBeLessThan(17);
    expect(s.peakBytes).toBe((s.peakEntries[0] as number) * perEntry);
    cache.dispose();
  });

  it("clone: an independent copy continues exactly like the original", async () => {
    const cache = model.createCache({ batch: 1, policy: "anchor" });
    model
      .forwardChunk(cache, [p0], {
        isAnchor: [Uint8Array.from(p0, (t) => +(t === A))],
      })
      .dispose();
    const copy = cache.clone();
    const next = [Int32Array.of(17, A, 20)];
    const isAnchor = [Uint8Array.of(0, 1, 0)];
    const a = await model.forwardChunk(cache, next, { isAnchor }).data();
    const b = await model.forwardChunk(copy, next, { isAnchor }).data();
    expect([...b]).toEqual([...a]);
    expect(copy.stats()).toEqual(cache.stats());
    copy.dispose();
    cache.dispose();
  });

  it("compacted positions: same rows kept, new tokens rotated at cache length", async () => {
    const p = Int32Array.of(1, 3, 4, A, 5, 6, A, 9, 10);
    const isAnchor = [Uint8Array.from(p, (t) => +(t === A))];
    const orig = model.createCache({ batch: 1, policy: "anchor" });
    const comp = model.createCache({ batch: 1, policy: "anchor", positions: "compacted" });
    const a0 = await model.forwardChunk(orig, [p], { isAnchor }).data();
    const b0 = await model.forwardChunk(comp, [p], { isAnchor }).data();
    expect([...b0]).toEqual([...a0]); // no drop before the first chunk: identical
    expect(comp.lengths()).toEqual(orig.lengths());
    const a1 = await model.forwardChunk(orig, [Int32Array.of(11)], {}).data();
    const b1 = await model.forwardChunk(comp, [Int32Array.of(11)], {}).data();
    expect([...b1]).not.toEqual([...a1]); // position 4 (cache length) instead of 9
    expect([...comp.cachedRows(0).ropePos]).toEqual([3, 6, 7, 8, 4]);
    expect([...orig.cachedRows(0).ropePos]).toEqual([3, 6, 7, 8, 9]);
    orig.dispose();
    comp.dispose();
  });
});

describe("sampling", () => {
  it("top-p keeps the nucleus only; seeded rng is deterministic", () => {
    const logits = [5, 4.9, 0, -1];
    const rand = seededRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++)
      seen.add(sampleToken(logits, { temperature: 1, topP: 0.9 }, rand));
    expect([...seen].sort()).toEqual([0, 1]);
    expect(seededRandom(7).next()).toBe(seededRandom(7).next());
  });

  it("rejects empty prompts", async () => {
    const m = Llama2.init(PRESETS.tiny, { seed: 1 });
    await expect(
      generate(m, [new Int32Array(0)], { maxNewTokens: 1, cache: "anchor" }),
    ).rejects.toThrow(/at least one token/);
    await expect(
      generate(m, [Int32Array.of(1)], { maxNewTokens: 2, cache: "anchor", chunkSize: 0 }),
    ).rejects.toThrow(/chunkSize must be a positive integer/);
    m.dispose();
  });
});
