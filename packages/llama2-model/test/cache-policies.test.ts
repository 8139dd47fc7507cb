// KV-cache policies through the model (anchor-mask's cache-policy.ts, KVCache): the deterministic
// policies (full, sink, sepllm) give the same logits under any chunking as token by token and as
// one full forward with the policy's mask (ModelBatch.windowPolicy, the trainable SepLLM mask);
// h2o keeps its budget, needs settle(), keeps one row set per layer and KV head, and its cached
// decoding equals one full forward that masks, per layer and KV head, exactly the rows it evicted.
import { join } from "node:path";
import { type CachePolicy, h2oKeep, NO_EVICTION, parsePolicy } from "@anllm/anchor-mask";
import { type Device, memoryStats, noGrad, tensor } from "@anllm/tensor";
import { describeDevices } from "@anllm/tensor/testing";
import { expect, it } from "vitest";
import { KVCache, Llama2, type LlamaConfig, ModelInputError, PRESETS } from "../src/index";
import { loadModel } from "../src/node";
import { FIXTURES, randomChunking, relError, rng } from "./helpers";

/** Separator token of these tests (any id works: flags come from the caller). */
const SEP = 7;
const flagsOf = (ids: Int32Array) => Uint8Array.from(ids, (t) => (t === SEP ? 1 : 0));

/**
 * Every position's logits, feeding `prompt` in chunks of the given sizes; `after(end)` runs after
 * each chunk is settled (`end`: the next token's position).
 */
async function cachedLogits(
  model: Llama2,
  cache: KVCache,
  prompt: Int32Array,
  sizes: number[],
  after?: (end: number) => void,
): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0, k = 0; s < prompt.length; k++) {
    const chunk = prompt.subarray(s, s + (sizes[k % sizes.length] as number));
    const t = noGrad(() => model.forwardChunk(cache, [chunk], { isAnchor: [flagsOf(chunk)] }));
    out.push(...((await t.data()) as Float32Array));
    t.dispose();
    await cache.settle();
    s += chunk.length;
    after?.(s);
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

  it("h2o keeps its own rows per layer and KV head; cached decoding (any chunking) == one forward masking, per layer and KV head, exactly the evicted rows", async () => {
    const model = await load();
    const c = model.config;
    const sets = c.nLayers * c.nKvHeads;
    expect(c.nKvHeads).toBeGreaterThan(1);
    expect(c.nHeads).toBeGreaterThan(c.nKvHeads); // GQA: a KV head's score sums its query heads
    const n = 30;
    const policy = parsePolicy("h2o:budget=8,recent=3");
    let differ = 0;
    for (const [seed, sizes] of [
      [2, [1]],
      [7, [4, 2, 7]],
      [12, randomChunking(rng(12), n, 6)],
    ] as const) {
      // no separators: on this model their attention would make every head keep the same rows
      const r = rng(seed);
      const p = Int32Array.from({ length: n }, () => 3 + Math.floor(r() * 61));
      const live = memoryStats().liveTensors;
      const cache = model.createCache({ batch: 1, policy });
      // until[set][j]: the first query position that no longer sees key j on that (layer, KV head)
      const until = Array.from({ length: sets }, () => new Int32Array(n).fill(NO_EVICTION));
      const rows = await cachedLogits(model, cache, p, [...sizes], (end) => {
        const held = cache.headPositions(0);
        expect(held.length).toBe(sets);
        held.forEach((kept, h) => {
          expect(kept.length).toBe(Math.min(end, 8));
          // the recent window is the same on every head
          expect(Array.from(kept.slice(-3))).toEqual(
            [end - 3, end - 2, end - 1].filter((x) => x >= 0),
          );
          const keep = new Set(kept);
          for (let j = 0; j < end; j++)
            if (!keep.has(j) && until[h]![j] === NO_EVICTION) until[h]![j] = end;
          // rows never come back once evicted
          for (const j of kept) expect(until[h]![j]).toBe(NO_EVICTION);
        });
        expect(cache.lengths()).toEqual([Math.min(end, 8)]);
      });
      // the heads keep different rows (these prompts are chosen so that they do)
      expect(cache.stats().entries).toEqual([8]);
      const final = cache.headPositions(0).map((k) => Array.from(k).join());
      cache.dispose();
      // the per-layer column sums and their read-back leave nothing behind
      expect(memoryStats().liveTensors).toBe(live);
      expect(new Set(final).size, `chunks ${sizes}`).toBeGreaterThan(1);
      // within a layer too (layer 0's sets: final[0..nKvHeads))
      if (new Set(final.slice(0, c.nKvHeads)).size > 1) differ++;
      const headUntil = new Int32Array(sets * n);
      until.forEach((u, h) => {
        headUntil.set(u, h * n);
      });
      const dense = noGrad(() =>
        model.forward({ inputIds: p, batch: 1, seqLen: n, attention: "causal", headUntil }),
      );
      const want = Array.from((await dense.data()) as Float32Array);
      dense.dispose();
      expect(relError(rows, want), `chunks ${sizes}`).toBeLessThan(1e-4);
      // the dense reference is sensitive to the per-head sets: one shared set (head 0's) differs
      const shared = new Int32Array(sets * n);
      for (let h = 0; h < sets; h++) shared.set(until[0] as Int32Array, h * n);
      const wrong = noGrad(() =>
        model.forward({ inputIds: p, batch: 1, seqLen: n, attention: "causal", headUntil: shared }),
      );
      expect(relError(rows, (await wrong.data()) as Float32Array)).toBeGreaterThan(1e-3);
      wrong.dispose();
    }
    expect(differ).toBeGreaterThanOrEqual(2);
    const ids = new Int32Array(4).fill(5);
    const bad = { inputIds: ids, batch: 1, seqLen: 4, headUntil: new Int32Array(3) };
    expect(() => model.forward({ ...bad, attention: "causal" })).toThrow(
      /headUntil has length 3, expected nLayers x batch x nKvHeads x seqLen = 16/,
    );
    expect(() =>
      model.forward({ ...bad, attention: "anchor", isAnchor: new Uint8Array(4) }),
    ).toThrow(/headUntil needs attention "causal"/);
    model.dispose();
  });

  it("h2o routes each (layer, KV head)'s column sums to its own row set and moves its K/V rows with it", async () => {
    const config: LlamaConfig = { ...PRESETS.tiny, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 2 };
    const [L, H, D] = [2, 2, 2];
    const budget = 4;
    const device = getDevice();
    const cache = new KVCache(config, { batch: 2, policy: { kind: "h2o", budget, recent: 1 } });
    const r = rng(5);
    // host replay: per sequence and (layer, head), the positions held and their accumulated score
    const held = [0, 1].map(() =>
      Array.from({ length: L * H }, () => ({ pos: [] as number[], acc: [] as number[] })),
    );
    const total = [0, 0];
    let checked = 0;
    for (const lens of [
      [5, 3],
      [1, 2],
      [3, 1],
      [1, 1],
      [1, 1],
    ]) {
      const plan = cache.plan(lens.map((k) => new Uint8Array(k)));
      const cap = cache.capacity;
      const sums: number[][][] = []; // [layer][b * H + h][key]
      for (let l = 0; l < L; l++) {
        // K row of position t on (layer, head): 1000 l + 100 h + t (v = -k)
        const host = new Float32Array(2 * H * plan.lq * D);
        for (let b = 0; b < 2; b++)
          for (let h = 0; h < H; h++)
            for (let t = 0; t < plan.lq; t++)
              for (let e = 0; e < D; e++)
                host[((b * H + h) * plan.lq + t) * D + e] = 1000 * l + 100 * h + total[b]! + t;
        const k = tensor(host, [2, H, plan.lq, D], { device });
        const v = tensor(
          host.map((x) => -x),
          [2, H, plan.lq, D],
          { device },
        );
        const bufs = noGrad(() => cache.append(l, k, v));
        // the rows the previous steps kept sit first in each (sequence, head) slice, in order
        const [kd, vd] = [await bufs.k.data(), await bufs.v.data()];
        for (let b = 0; b < 2; b++)
          for (let h = 0; h < H; h++)
            held[b]![l * H + h]!.pos.forEach((p, row) => {
              const at = ((b * H + h) * cap + row) * D;
              expect(kd[at], `layer ${l} seq ${b} head ${h} row ${row}`).toBe(
                1000 * l + 100 * h + p,
              );
              expect(vd[at]).toBe(-(1000 * l + 100 * h + p));
              checked++;
            });
        k.dispose();
        v.dispose();
        const layerSums = Array.from({ length: 2 * H }, () =>
          Array.from({ length: cap }, () => Math.round(r() * 64) / 8),
        );
        sums.push(layerSums);
        const t = tensor(Float32Array.from(layerSums.flat()), [2, H, cap], { device });
        cache.addColumnSums(l, t);
        t.dispose();
      }
      cache.commit();
      await cache.settle();
      for (let b = 0; b < 2; b++) {
        for (let s = 0; s < L * H; s++) {
          const set = held[b]![s]!;
          const fresh = Array.from({ length: lens[b]! }, (_, t) => total[b]! + t);
          const pos = [...set.pos, ...fresh];
          const acc = pos.map(
            (_, k) => (set.acc[k] ?? 0) + sums[Math.floor(s / H)]![b * H + (s % H)]![k]!,
          );
          const keep = Array.from(h2oKeep(pos, acc, { budget, recent: 1 }));
          set.pos = keep.map((k) => pos[k]!);
          set.acc = keep.map((k) => acc[k]!);
        }
        total[b]! += lens[b]!;
        expect(cache.headPositions(b).map((k) => Array.from(k))).toEqual(
          held[b]!.map((s) => s.pos),
        );
      }
    }
    expect(checked).toBeGreaterThan(100);
    const sets = cache.headPositions(0).map((k) => Array.from(k).join());
    expect(new Set(sets).size).toBeGreaterThan(1);
    cache.dispose();
  });
});
