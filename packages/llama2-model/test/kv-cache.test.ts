// The KV cache object: preallocated buffers written and compacted in place (checked row by row
// against a host replay of concat + gather of the kept rows), capacity growth, and clone().

import { join } from "node:path";
import { type Device, noGrad, type Tensor, tensor } from "@anllm/tensor";
import { describeDevices } from "@anllm/tensor/testing";
import { expect, it } from "vitest";
import { KVCache, type Llama2, type LlamaConfig, PRESETS } from "../src/index";
import { loadModel } from "../src/node";
import { FIXTURES, fixtures, randomChunking, randomPrompt, relError, rng } from "./helpers";

const A = fixtures.anchorId;
const flags = (ids: Int32Array) => Uint8Array.from(ids, (t) => (t === A ? 1 : 0));

/** Logits rows of `chunks` fed one step at a time: [step][batch * lq * vocab]. */
async function feed(model: Llama2, cache: KVCache, chunks: Int32Array[][]) {
  const out: Float32Array[] = [];
  for (const step of chunks) {
    const t = model.forwardChunk(cache, step, { isAnchor: step.map(flags) });
    out.push((await t.data()) as Float32Array);
    t.dispose();
  }
  return out;
}

describeDevices("KV cache buffers", (getDevice: () => Device) => {
  it("in-place writes and compaction hold exactly the rows concat + gather would", async () => {
    const config: LlamaConfig = { ...PRESETS.tiny, nLayers: 2, nKvHeads: 2, headDim: 3 };
    const r = rng(7);
    const cache = new KVCache(config, { batch: 2, policy: "anchor" });
    type Row = { pos: number; values: number[] }; // values [head][dim]
    // host replay per layer and sequence: the cached rows, in cache order
    const ref: Row[][][] = [0, 1].map(() => [[], []]);
    let value = 0;
    let drops = 0;
    for (let step = 0; step < 14; step++) {
      const lens = [0, 1].map(() => Math.floor(r() * 6));
      if (!lens.some((n) => n > 0)) lens[0] = 1;
      const isAnchor = lens.map((n) => Uint8Array.from({ length: n }, () => +(r() < 0.3)));
      const first = cache.stats().fullEntries; // original position of each chunk's first token
      const plan = cache.plan(isAnchor);
      expect(plan.mask.lk).toBe(cache.capacity);
      for (let layer = 0; layer < 2; layer++) {
        const lq = plan.lq;
        // chunk rows [batch, heads, lq, dim] with distinct values; v = -k
        const host = new Float32Array(2 * 2 * lq * 3);
        const fresh: Row[][] = [[], []];
        for (let b = 0; b < 2; b++) {
          for (let t = 0; t < lq; t++) {
            const values = Array.from({ length: 6 }, () => ++value);
            if (t < (lens[b] as number)) fresh[b]?.push({ pos: (first[b] as number) + t, values });
            for (let h = 0; h < 2; h++)
              for (let e = 0; e < 3; e++)
                host[((b * 2 + h) * lq + t) * 3 + e] = values[h * 3 + e] as number;
          }
        }
        const k = tensor(host, [2, 2, lq, 3], { device: getDevice() });
        const v = tensor(
          host.map((x) => -x),
          [2, 2, lq, 3],
          { device: getDevice() },
        );
        const got = noGrad(() => cache.append(layer, k, v));
        const [kd, vd] = [await got.k.data(), await got.v.data()];
        const cap = got.k.shape[2] as number;
        expect(cap).toBe(cache.capacity);
        for (let b = 0; b < 2; b++) {
          const want = [...((ref[layer] as Row[][])[b] as Row[]), ...(fresh[b] as Row[])];
          want.forEach((row, i) => {
            for (let h = 0; h < 2; h++) {
              for (let e = 0; e < 3; e++) {
                const at = ((b * 2 + h) * cap + i) * 3 + e;
                const x = row.values[h * 3 + e] as number;
                expect(kd[at], `step ${step} layer ${layer} seq ${b} row ${i}`).toBe(x);
                expect(vd[at]).toBe(-x);
              }
            }
          });
          (ref[layer] as Row[][])[b] = want;
        }
        k.dispose();
        v.dispose();
      }
      const held = cache.lengths().map((n, b) => n + (lens[b] as number));
      cache.commit();
      if (cache.lengths().some((n, b) => n < (held[b] as number))) drops++;
      // reference: gather the rows the state kept (identified by original position)
      for (let b = 0; b < 2; b++) {
        const kept = new Set(cache.cachedRows(b).pos);
        expect(kept.size).toBe(cache.lengths()[b]);
        for (const layer of [0, 1]) {
          const rows = ref[layer] as Row[][];
          rows[b] = (rows[b] as Row[]).filter((row) => kept.has(row.pos));
          expect(rows[b]?.length).toBe(kept.size);
        }
      }
    }
    expect(drops).toBeGreaterThan(3); // rows really moved
    expect(cache.stats().allocatedBytes).toBe(cache.capacity * 2 * cache.bytesPerEntry);
    cache.dispose();
  });

  it("capacity grows geometrically and the rows survive the growth", async () => {
    const model = await loadModel(join(FIXTURES, "tiny-gqa"), { device: getDevice() });
    const p = randomPrompt(rng(3), 45, 64, A, 0);
    const cache = model.createCache({ batch: 1, policy: "full" });
    const sizes = [3, 20, 1, 16, 5];
    const seen: number[] = [];
    let o = 0;
    const rows: number[] = [];
    for (const n of sizes) {
      const chunk = p.subarray(o, o + n);
      const t = model.forwardChunk(cache, [chunk], { isAnchor: [flags(chunk)] });
      rows.push(...((await t.data()) as Float32Array));
      t.dispose();
      o += n;
      seen.push(cache.capacity);
    }
    expect(seen).toEqual([16, 32, 32, 64, 64]);
    expect(cache.stats().allocatedBytes).toBe(64 * cache.bytesPerEntry);
    const full = model.forward({
      inputIds: p,
      isAnchor: flags(p),
      batch: 1,
      seqLen: p.length,
      attention: "causal",
    });
    expect(relError(rows, (await full.data()) as Float32Array)).toBeLessThan(1e-4);
    full.dispose();
    // a cache reserved up front never grows and gives the same logits
    const reserved = model.createCache({ batch: 1, policy: "full", capacity: 64 });
    const again = await feed(model, reserved, [[p.subarray(0, 23)], [p.subarray(23)]]);
    expect(reserved.capacity).toBe(64);
    expect(
      relError([...(again[0] as Float32Array), ...(again[1] as Float32Array)], rows),
    ).toBeLessThan(1e-5);
    reserved.dispose();
    cache.dispose();
    model.dispose();
  });

  it("clone: independent of the original (either may be disposed), no replay", async () => {
    const model = await loadModel(join(FIXTURES, "tiny-gqa"), { device: getDevice() });
    const r = rng(11);
    const prefix = randomPrompt(r, 13, 64, A, 0.3);
    const x = randomPrompt(r, 6, 64, A, 0.3);
    const y = randomPrompt(r, 4, 64, A, 0.3);
    const steps = randomChunking(r, prefix.length, 4).reduce<Int32Array[][]>((acc, n) => {
      const o = acc.reduce((s, c) => s + (c[0] as Int32Array).length, 0);
      acc.push([prefix.subarray(o, o + n)]);
      return acc;
    }, []);
    const a = model.createCache({ batch: 1, policy: "anchor" });
    await feed(model, a, steps);
    const b = a.clone();
    expect(b.stats()).toEqual(a.stats());
    expect(b.cachedRows(0)).toEqual(a.cachedRows(0));
    const ax = await feed(model, a, [[x]]);
    a.dispose(); // the clone owns its own buffers
    const by = await feed(model, b, [[y]]);
    // each equals a fresh cache fed the prefix then its own continuation
    for (const [cont, got] of [
      [x, ax],
      [y, by],
    ] as const) {
      const fresh = model.createCache({ batch: 1, policy: "anchor" });
      await feed(model, fresh, steps);
      const want = await feed(model, fresh, [[cont]]);
      expect([...(got[0] as Float32Array)]).toEqual([...(want[0] as Float32Array)]);
      fresh.dispose();
    }
    expect(b.stats().fullEntries).toEqual([prefix.length + y.length]);
    b.dispose();
    expect(() => b.clone()).toThrow(/after dispose/);
    model.dispose();
  });
});

it("KVCache rejects bad options and steps out of order", () => {
  const c = PRESETS.tiny;
  expect(() => new KVCache(c, { batch: 0, policy: "anchor" })).toThrow(/batch/);
  expect(() => new KVCache(c, { batch: 1, policy: "anchor", capacity: -1 })).toThrow(/capacity/);
  const cache = new KVCache(c, { batch: 2, policy: "anchor" });
  expect(() => cache.plan([Uint8Array.of(0)])).toThrow(/1 chunks for a cache of batch 2/);
  expect(() => cache.plan([new Uint8Array(0), new Uint8Array(0)])).toThrow(/every chunk is empty/);
  expect(() => cache.commit()).toThrow(/no planned chunk/);
  expect(() => cache.append(0, null as unknown as Tensor, null as unknown as Tensor)).toThrow(
    /no planned chunk/,
  );
  cache.dispose();
});
