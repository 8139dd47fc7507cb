// KV-cache policies through the model (anchor-mask's cache-policy.ts, KVCache): the deterministic
// policies (full, sink, sepllm) give the same logits under any chunking as token by token and as
// one full forward with the policy's mask (ModelBatch.windowPolicy, the trainable SepLLM mask);
// h2o keeps its budget, needs settle(), and scores keys by the attention they received.
import { join } from "node:path";
import { type CachePolicy, parsePolicy } from "@anllm/anchor-mask";
import { type Device, noGrad } from "@anllm/tensor";
import { describeDevices } from "@anllm/tensor/testing";
import { expect, it } from "vitest";
import { type KVCache, Llama2, ModelInputError, PRESETS } from "../src/index";
import { loadModel } from "../src/node";
import { FIXTURES, randomChunking, relError, rng } from "./helpers";

/** Separator token of these tests (any id works: flags come from the caller). */
const SEP = 7;
const flagsOf = (ids: Int32Array) => Uint8Array.from(ids, (t) => (t === SEP ? 1 : 0));

/** Every position's logits, feeding `prompt` in chunks of the given sizes. */
async function cachedLogits(
  model: Llama2,
  cache: KVCache,
  prompt: Int32Array,
  sizes: number[],
): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0, k = 0; s < prompt.length; k++) {
    const chunk = prompt.subarray(s, s + (sizes[k % sizes.length] as number));
    const t = noGrad(() => model.forwardChunk(cache, [chunk], { isAnchor: [flagsOf(chunk)] }));
    out.push(...((await t.data()) as Float32Array));
    t.dispose();
    await cache.settle();
    s += chunk.length;
  }
  return out;
}

function prompt(seed: number, n: number, vocab: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () =>
    r() < 0.15 ? SEP : 3 + Math.floor(r() * (vocab - 3)),
  );
}

describeDevices("cache policies in the model", (getDevice: () => Device) => {
  const load = () => loadModel(join(FIXTURES, "tiny-gqa"), { device: getDevice() });
  const deterministic = [
    "full",
    "sink:sink=2,window=5",
    "sink:sink=0,window=3",
    "sepllm:initial=2,window=4,budget=9",
    "sepllm:initial=1,window=3",
  ];

  it("deterministic policies: random chunkings == token by token == the full forward with the policy's mask", async () => {
    const model = await load();
    const vocab = model.config.vocabSize;
    for (const spec of deterministic) {
      const policy = parsePolicy(spec);
      for (let seed = 1; seed <= 3; seed++) {
        const p = prompt(seed, 29, vocab);
        const one = model.createCache({ batch: 1, policy });
        const byToken = await cachedLogits(model, one, p, [1]);
        const many = model.createCache({ batch: 1, policy });
        const chunked = await cachedLogits(model, many, p, randomChunking(rng(seed + 50), 29, 8));
        expect(relError(chunked, byToken), `${spec} seed ${seed}`).toBeLessThan(1e-4);
        expect(many.lengths()).toEqual(one.lengths());
        const window = policy.kind === "sink" || policy.kind === "sepllm" ? policy : undefined;
        const full = noGrad(() =>
          model.forward({
            inputIds: p,
            batch: 1,
            seqLen: p.length,
            attention: "causal",
            isAnchor: flagsOf(p),
            windowPolicy: window,
          }),
        );
        const fullRows = Array.from((await full.data()) as Float32Array);
        full.dispose();
        expect(relError(byToken, fullRows), `${spec} vs forward`).toBeLessThan(1e-4);
        one.dispose();
        many.dispose();
      }
    }
    model.dispose();
  });

  it("sink and sepllm hold what their rule keeps; mean entries are reported", async () => {
    const model = await load();
    const p = prompt(4, 40, model.config.vocabSize);
    const sink = model.createCache({ batch: 1, policy: parsePolicy("sink:sink=2,window=5") });
    await cachedLogits(model, sink, p, [3]);
    expect(Array.from(sink.cachedRows(0).pos)).toEqual([0, 1, 35, 36, 37, 38, 39]);
    const st = sink.stats();
    expect(st.entries).toEqual([7]);
    expect(st.meanEntries[0]).toBeGreaterThan(0);
    expect(st.meanEntries[0]).toBeLessThanOrEqual(7);
    expect(st.peakEntries[0]).toBe(10);
    sink.dispose();
    model.dispose();
  });

  it("sink with cache positions re-rotates kept keys: one layer, token by token equals a recomputation at cache positions", async () => {
    // with one layer a token's K/V do not depend on its context, so the last query over the kept
    // rows at cache positions 0..n-1 equals a fresh forward of just those tokens
    const model = Llama2.init({ ...PRESETS.tiny, nLayers: 1 }, { seed: 3, device: getDevice() });
    const p = prompt(6, 14, model.config.vocabSize);
    const policy: CachePolicy = { kind: "sink", sink: 2, window: 4, positions: "cache" };
    const cache = model.createCache({ batch: 1, policy });
    const rows = await cachedLogits(model, cache, p, [1]);
    const vocab = model.config.vocabSize;
    // the last token saw sinks 0,1 and the window 10..13 at rotary positions 0..5
    const kept = Int32Array.of(p[0] as number, p[1] as number, ...p.subarray(10, 14));
    const ref = noGrad(() =>
      model.forward({ inputIds: kept, batch: 1, seqLen: 6, attention: "causal" }),
    );
    const want = Array.from(((await ref.data()) as Float32Array).subarray(5 * vocab));
    ref.dispose();
    expect(relError(rows.slice(13 * vocab), want)).toBeLessThan(1e-4);
    expect(Array.from(cache.cachedRows(0).ropePos)).toEqual([0, 1, 2, 3, 4]);
    cache.dispose();
    model.dispose();
  });

  it("h2o keeps at most its budget, the recent window always, and needs settle()", async () => {
    const model = await load();
    const p = prompt(8, 30, model.config.vocabSize);
    const policy = parsePolicy("h2o:budget=8,recent=3");
    for (const sizes of [[1], [4, 2, 7]]) {
      const cache = model.createCache({ batch: 1, policy });
      const rows = await cachedLogits(model, cache, p, sizes);
      expect(rows.every(Number.isFinite)).toBe(true);
      const pos = Array.from(cache.cachedRows(0).pos);
      expect(pos.length).toBe(8);
      expect(pos.slice(-3)).toEqual([27, 28, 29]);
      cache.dispose();
    }
    const cache = model.createCache({ batch: 1, policy });
    const t = model.forwardChunk(cache, [p.subarray(0, 3)]);
    t.dispose();
    expect(() => model.forwardChunk(cache, [p.subarray(3, 4)])).toThrow(ModelInputError);
    await cache.settle();
    model.forwardChunk(cache, [p.subarray(3, 4)]).dispose();
    await cache.settle();
    expect(cache.lengths()).toEqual([4]);
    cache.dispose();
    model.dispose();
  });
});
