// f16 models: the tiny GQA fixture loaded with dtype f16 (F16 shards uploaded as they are) keeps
// every weight, activation and K/V row in f16 and stays close to the float64 numpy logits; anchor
// generation in f16 agrees with f32; the K/V cache holds f16 rows and reports their real bytes;
// a device without shader-f16 falls back to f32 with a note; F32 weights beyond f16's range are
// refused with the file and tensor named.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Device } from "@anllm/tensor";
import { describeDevices } from "@anllm/tensor/testing";
import { describe, expect, it } from "vitest";
import { generate, resolveModelDType } from "../src/index";
import { loadModel, saveModel } from "../src/node";
import { batchOf, FIXTURES, fixtures, relError } from "./helpers";

const DIR = join(FIXTURES, "tiny-gqa");
/**
 * f16 logits vs the float64 reference, max |diff| / max |ref| over a whole case: every matmul
 * output, norm and attention probability is rounded to f16 (2^-11 relative) once per op. Measured
 * 0.8e-3 to 1.1e-3 on the three cases (software adapter and CPU reference); the bound leaves 3x.
 */
const F16_LOGITS_REL = 3e-3;

describeDevices("f16 model", (getDevice) => {
  it(`loads F16 shards as f16 and matches every golden case within ${F16_LOGITS_REL} relative`, async () => {
    const model = await loadModel(DIR, { device: getDevice(), dtype: "f16" });
    expect(model.dtype).toBe("f16");
    expect(model.dtypeNote).toBeUndefined();
    for (const t of model.parameters().values()) expect(t.dtype, t.name).toBe("f16");
    const f32 = await loadModel(DIR, { device: getDevice() });
    for (const c of fixtures.cases) {
      const logits = model.forward(batchOf(c));
      const ref = f32.forward(batchOf(c));
      const got = await logits.data();
      const err = relError(got, c.logits);
      expect(err, c.name).toBeLessThan(F16_LOGITS_REL);
      // and the f16 run is no further from the f32 run than from the float64 reference
      expect(relError(got, await ref.data()), c.name).toBeLessThan(F16_LOGITS_REL);
      logits.dispose();
      ref.dispose();
    }
    model.dispose();
    f32.dispose();
  });

  it("anchor-cache generation in f16: f16 K/V rows, half the bytes, same greedy tokens as f32", async () => {
    const prompts = [Int32Array.from(fixtures.cases[1]?.inputIds.slice(0, 12) ?? [])];
    const anchorIds = [fixtures.anchorId];
    const run = async (dtype: "f32" | "f16") => {
      const model = await loadModel(DIR, { device: getDevice(), dtype });
      const r = await generate(model, prompts, { maxNewTokens: 8, cache: "anchor", anchorIds });
      model.dispose();
      return r;
    };
    const h = await run("f16");
    const f = await run("f32");
    expect(Array.from(h.tokens[0] ?? [])).toEqual(Array.from(f.tokens[0] ?? []));
    expect(h.stats.peakEntries).toEqual(f.stats.peakEntries);
    expect(h.stats.peakBytes * 2).toBe(f.stats.peakBytes);
    expect(h.stats.fullBytes * 2).toBe(f.stats.fullBytes);
  });

  it("createCache holds rows in the model's dtype", async () => {
    const model = await loadModel(DIR, { device: getDevice(), dtype: "f16" });
    const cache = model.createCache({ batch: 1, policy: "anchor" });
    expect(cache.dtype).toBe("f16");
    expect(model.createCache({ batch: 1, policy: "full", dtype: "f32" }).dtype).toBe("f32");
    model.dispose();
  });

  it("addAnchorToken on an f16 model appends the f16-rounded mean row", async () => {
    const model = await loadModel(DIR, { device: getDevice(), dtype: "f16" });
    const embed = await model.param("model.embed_tokens.weight").data();
    const [V, D] = [model.config.vocabSize, model.config.dModel];
    const id = model.addAnchorToken();
    const grown = model.param("model.embed_tokens.weight");
    expect(grown.dtype).toBe("f16");
    const row = (await grown.data()).subarray(id * D, (id + 1) * D);
    for (let d = 0; d < D; d++) {
      let s = 0;
      for (let v = 0; v < V; v++) s += embed[v * D + d] as number;
      expect(Math.abs((row[d] as number) - s / V)).toBeLessThan(
        1e-3 * Math.max(1, Math.abs(s / V)),
      );
    }
    model.dispose();
  });

  it("f32 weights beyond f16's range are refused, naming the file and tensor", async () => {
    const model = await loadModel(DIR, { device: getDevice() });
    const dir = await mkdtemp(join(tmpdir(), "llama2-f16-range-"));
    // blow one weight past 65504 and save as F32
    const norm = model.param("model.norm.weight");
    const big = (await norm.data()).slice();
    big[0] = 1e5;
    norm.copyFrom((await import("@anllm/tensor")).tensor(big, norm.shape, { device: getDevice() }));
    await saveModel(model, dir, { dtype: "f32" });
    await expect(loadModel(dir, { device: getDevice(), dtype: "f16" })).rejects.toThrow(
      /model\.safetensors: tensor "model\.norm\.weight": 1 value\(s\) outside the f16 range/,
    );
    model.dispose();
  });
});

describe("resolveModelDType", () => {
  it("falls back to f32 with a note on a device without shader-f16", () => {
    const noHalf = { name: "SwiftShader", supportsF16: false } as Device;
    const r = resolveModelDType("f16", noHalf);
    expect(r.dtype).toBe("f32");
    expect(r.note).toMatch(/SwiftShader lacks the WebGPU feature shader-f16/);
    expect(resolveModelDType("f32", noHalf)).toEqual({ dtype: "f32" });
    expect(resolveModelDType(undefined, noHalf)).toEqual({ dtype: "f32" });
  });
});
