// The autotuner on this machine's WebGPU adapter: it times every candidate of each shape class,
// records the fastest, and matmul / attention then run the recorded variant (seen in the kernel
// profile); choices round-trip through the Node file cache; results stay equal to the CPU
// reference whatever was chosen.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as T from "./index";
import { initNodeDevice, nodeTuneCache } from "./node";
import { expectAllClose } from "./testing";
import { ATTENTION_CANDIDATES, MATMUL_CANDIDATES } from "./tuning";
import type { WebGPUDevice } from "./webgpu/webgpu-device";

let dev: WebGPUDevice;
const dir = mkdtempSync(join(tmpdir(), "anllm-tune-"));

beforeAll(async () => {
  dev = (await initNodeDevice({ prefer: "webgpu", setDefault: false })) as WebGPUDevice;
  expect(dev.kind).toBe("webgpu");
});
afterAll(() => dev?.destroy());

/** Kernel names (with variants) a function dispatches. */
async function kernelsOf(fn: () => void): Promise<string[]> {
  dev.startProfile();
  fn();
  return (await dev.stopProfile()).map((r) => r.kernel);
}

const fixed = (table: Record<string, string>): T.TuneCache => ({
  load: async () => ({ ...table }),
  save: async () => {},
});

describe("autotune", () => {
  it("times every candidate, records the fastest and writes the file cache", async () => {
    const cache = nodeTuneCache(join(dir, "a.json"));
    const work: T.TuneWork[] = [
      { op: "matmul", m: 96, k: 64, n: 128 },
      { op: "matmul", m: 100, k: 60, n: 130 }, // same shape class: tuned once
      { op: "attention", batch: 1, nHeads: 2, nKvHeads: 1, lq: 48, lk: 48, headDim: 16 },
    ];
    const entries = await T.autotune(work, { device: dev, cache, reps: 1 });
    expect(entries.map((e) => e.shapeClass)).toEqual([
      "matmul 128x64x128 00",
      "attention hd16 g2 q64 k64",
    ]);
    const kind = dev.software ? "software" : "hardware";
    const [mm, attn] = entries as [T.TuneEntry, T.TuneEntry];
    expect(Object.keys(mm.timesMs).sort()).toEqual(Object.keys(MATMUL_CANDIDATES[kind]).sort());
    expect(Object.keys(attn.timesMs).sort()).toEqual([...ATTENTION_CANDIDATES[kind]].sort());
    for (const e of entries) {
      expect(e.fromCache).toBe(false);
      const best = Math.min(...Object.values(e.timesMs));
      expect(e.timesMs[e.choice]).toBe(best);
    }
    expect(T.tunedChoices(dev)).toEqual({
      [mm.shapeClass]: mm.choice,
      [attn.shapeClass]: attn.choice,
    });
    const onDisk = JSON.parse(readFileSync(cache.path, "utf8"));
    expect(onDisk[dev.name]).toEqual(T.tunedChoices(dev));
    // a second device reads the choices from the cache instead of timing again
    const other = (await initNodeDevice({ prefer: "webgpu", setDefault: false })) as WebGPUDevice;
    const again = await T.autotune(work, { device: other, cache: nodeTuneCache(cache.path) });
    expect(again.map((e) => [e.choice, e.fromCache])).toEqual([
      [mm.choice, true],
      [attn.choice, true],
    ]);
    other.destroy();
  });

  it("recordTuneWork lists the shapes a function runs with automatic variant choice", async () => {
    T.setDevice(dev);
    const x = T.randn([6, 8], { seed: 1 });
    const w = T.randn([5, 8], { seed: 2 });
    const q = T.randn([1, 2, 4, 8], { seed: 3 });
    const mask = T.makeAttentionMask({ batch: 1, lq: 4 });
    const work = await T.recordTuneWork(async () => {
      T.matmul(x, w, { transB: true }).dispose();
      T.matmul(x, w, { transB: true, scalar: true }).dispose(); // forced: not listed
      T.attention(q, q, q, mask).dispose();
      await dev.sync();
    });
    expect(work[0]).toEqual({ op: "matmul", m: 6, k: 8, n: 5, transA: false, transB: true });
    expect(work.at(-1)).toEqual({
      op: "attention",
      batch: 1,
      nHeads: 2,
      nKvHeads: 2,
      lq: 4,
      lk: 4,
      headDim: 8,
    });
    expect(work.filter((u) => u.op === "matmul" && u.k === 8 && u.n === 5)).toHaveLength(1);
    mask.dispose();
  });

  it("every matmul candidate (software and hardware lists) computes the CPU reference's product", async () => {
    T.setDevice(dev);
    const cpu = new T.CpuDevice();
    for (const [M, K, N, transA, transB] of [
      [37, 20, 44, false, false],
      [19, 36, 23, true, false],
      [33, 16, 28, false, true],
      [45, 33, 76, true, true],
    ] as const) {
      const ah = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
      const bh = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i));
      const shapes = [transA ? [K, M] : [M, K], transB ? [N, K] : [K, N]];
      const want = await T.matmul(
        T.tensor(ah, shapes[0], { device: cpu }),
        T.tensor(bh, shapes[1], { device: cpu }),
        { transA, transB },
      ).data();
      const a = T.tensor(ah, shapes[0]);
      const b = T.tensor(bh, shapes[1]);
      for (const list of Object.values(MATMUL_CANDIDATES)) {
        for (const [name, choice] of Object.entries(list)) {
          const got = T.matmul(a, b, { transA, transB, ...choice });
          await expectAllClose(got, want, { rtol: 1e-4, atol: 1e-4 }).catch((e: Error) => {
            throw new Error(
              `candidate ${name} on ${M}x${K}x${N} ${+transA}${+transB}: ${e.message}`,
            );
          });
          got.dispose();
        }
      }
    }
  });

  it("setTunedChoices pins choices and refuses names that are no candidate", async () => {
    T.setTunedChoices({ "matmul 8x8x8 00": "scalar", "attention hd8 g1 q8 k8": "generic" }, dev);
    expect(T.tunedChoices(dev)["matmul 8x8x8 00"]).toBe("scalar");
    T.setTunedChoices({ "matmul 8x8x8 00": "default" }, dev);
    expect(T.tunedChoices(dev)["matmul 8x8x8 00"]).toBe("default");
    expect(() => T.setTunedChoices({ "matmul 8x8x8 00": "9x9/1x1" }, dev)).toThrow(
      /"9x9\/1x1" is not a (software|hardware) candidate for "matmul 8x8x8 00"/,
    );
    expect(() => T.setTunedChoices({ "conv 1x1": "default" }, dev)).toThrow(/not a/);
  });

  it("a malformed cache file counts as empty", async () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, "{ not json");
    expect(await nodeTuneCache(path).load(dev.name)).toEqual({});
    writeFileSync(path, JSON.stringify({ [dev.name]: { "matmul 1x1x1 00": 7 } }));
    expect(await nodeTuneCache(path).load(dev.name)).toEqual({});
  });

  it("matmul and attention run the recorded variant, with unchanged results", async () => {
    T.setDevice(dev);
    {
      const a = T.randn([64, 32], { seed: 1 });
      const b = T.randn([32, 64], { seed: 2 });
      const plain = await kernelsOf(() => T.matmul(a, b).dispose());
      expect(plain).toHaveLength(1);
      expect(plain[0]).toMatch(/^matmul-vec4 /);
      const expected = await T.matmul(a, b).data();
      await T.autotune([{ op: "matmul", m: 64, k: 32, n: 64 }], {
        device: dev,
        cache: fixed({ "matmul 64x32x64 00": "scalar" }),
      });
      const tuned = await kernelsOf(() => T.matmul(a, b).dispose());
      expect(tuned).toHaveLength(1);
      expect(tuned[0]).toMatch(/^matmul /);
      await expectAllClose(T.matmul(a, b), expected, { rtol: 1e-5, atol: 1e-5 });

      const [B, H, L, D] = [1, 2, 24, 16];
      const q = T.randn([B, H, L, D], { seed: 3 });
      const mask = T.makeAttentionMask({
        batch: B,
        lq: L,
        qAnchor: Int32Array.from({ length: L }, (_, t) => +(t % 5 === 4)),
      });
      const before = await T.attention(q, q, q, mask).data();
      const shapeClass = "attention hd16 g1 q32 k32";
      await T.autotune(
        [{ op: "attention", batch: B, nHeads: H, nKvHeads: H, lq: L, lk: L, headDim: D }],
        {
          device: dev,
          cache: fixed({ [shapeClass]: "tiled" }),
        },
      );
      expect(T.tunedChoices(dev)[shapeClass]).toBe("tiled");
      const ran = await kernelsOf(() => T.attention(q, q, q, mask).dispose());
      expect(ran).toHaveLength(1);
      expect(ran[0]).toMatch(/^attention t16ex\d+$/);
      await expectAllClose(T.attention(q, q, q, mask), before, { rtol: 1e-4, atol: 2e-5 });
      mask.dispose();
    }
  });
});
