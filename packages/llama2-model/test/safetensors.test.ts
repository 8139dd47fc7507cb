// Safetensors reader/writer and checkpoint directories: dtype decoding against numpy-written
// files, sharded index, atomic writes, and errors naming missing / extra / mis-shaped tensors.
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CheckpointReader,
  configFromHF,
  PRESETS,
  paramSpecs,
  readConfig,
  SafetensorsFile,
  saveCheckpoint,
  WeightsError,
  writeSafetensors,
} from "../src/index";

const FIX = join(import.meta.dirname, "..", "fixtures");
const expected = JSON.parse(await readFile(join(FIX, "expected.json"), "utf8"));

async function tmp() {
  return mkdtemp(join(tmpdir(), "llama2-st-"));
}

describe("safetensors reader", () => {
  it("decodes BF16, F16 and F32 written by numpy", async () => {
    const f = await SafetensorsFile.open(join(FIX, "dtype-sample.safetensors"));
    expect(f.metadata.format).toBe("pt");
    expect(f.entry("bf16").shape).toEqual([2, 3]);
    expect([...(await f.readF32("bf16"))]).toEqual(expected.dtypeSample.bf16);
    expect([...(await f.readF32("f16"))]).toEqual(expected.dtypeSample.f16);
    const f32 = await f.readF32("f32");
    expect([...f32]).toEqual(expected.dtypeSample.f32.map(Math.fround));
    await expect(f.readF32("nope")).rejects.toThrow(
      /dtype-sample.safetensors: no tensor named "nope"/,
    );
    await f.close();
  });

  it("rejects truncated files and bad headers with the file name", async () => {
    const dir = await tmp();
    const bytes = await readFile(join(FIX, "dtype-sample.safetensors"));
    await writeFile(join(dir, "cut.safetensors"), bytes.subarray(0, bytes.length - 4));
    await expect(SafetensorsFile.open(join(dir, "cut.safetensors"))).rejects.toThrow(
      /cut.safetensors: tensor "f32" has invalid data_offsets/,
    );
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 1000n, true);
    await writeFile(join(dir, "bad.safetensors"), bad);
    await expect(SafetensorsFile.open(join(dir, "bad.safetensors"))).rejects.toThrow(WeightsError);
  });
});

describe("safetensors writer", () => {
  it("round-trips f32 exactly and f16/bf16 within rounding; leaves no temp files", async () => {
    const dir = await tmp();
    const a = new Float32Array([0.1, -2, 3.5, 1e-3, 7, 8]);
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const p = join(dir, `${dtype}.safetensors`);
      await writeSafetensors(p, [{ name: "a", shape: [2, 3], data: () => a }], dtype);
      const f = await SafetensorsFile.open(p);
      const back = await f.readF32("a");
      const tol = dtype === "f32" ? 0 : dtype === "f16" ? 1e-3 : 1e-2;
      for (let i = 0; i < a.length; i++)
        expect(Math.abs((back[i] as number) - (a[i] as number))).toBeLessThanOrEqual(
          tol * Math.abs(a[i] as number),
        );
      expect((f.entries.get("a")?.start ?? 1) % 8).toBe(0); // data 8-byte aligned
      await f.close();
    }
    expect((await readdir(dir)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("aborts without touching the target when a tensor's data is wrong", async () => {
    const dir = await tmp();
    const p = join(dir, "x.safetensors");
    await writeSafetensors(
      p,
      [{ name: "a", shape: [1], data: () => new Float32Array([1]) }],
      "f32",
    );
    await expect(
      writeSafetensors(p, [{ name: "a", shape: [2], data: () => new Float32Array([1]) }], "f32"),
    ).rejects.toThrow(/tensor "a" has 1 values, shape \[2\] needs 2/);
    const f = await SafetensorsFile.open(p);
    expect([...(await f.readF32("a"))]).toEqual([1]);
    await f.close();
    expect(await readdir(dir)).toEqual(["x.safetensors"]);
  });
});

describe("checkpoint directories", () => {
  it("opens the sharded F16 fixture and validates it against the config", async () => {
    const config = await readConfig(join(FIX, "tiny-gqa"));
    expect(config.nKvHeads).toBe(2);
    expect(config.ropeTheta).toBe(1000);
    const r = await CheckpointReader.open(join(FIX, "tiny-gqa"));
    expect(r.files.length).toBe(2);
    r.validate(paramSpecs(config));
    await r.close();
  });

  it("names missing, extra and mis-shaped tensors with expected vs actual shape and file", async () => {
    const config = configFromHF(
      JSON.parse(await readFile(join(FIX, "tiny-gqa", "config.json"), "utf8")),
    );
    const r = await CheckpointReader.open(join(FIX, "tiny-gqa"));
    const specs = paramSpecs({ ...config, nKvHeads: 4, nLayers: 3 });
    let msg = "";
    try {
      r.validate(specs);
    } catch (e) {
      expect(e).toBeInstanceOf(WeightsError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(
      /tensor "model.layers.0.self_attn.k_proj.weight" in .*model-0000\d-of-00002.safetensors: expected shape \[32,32\], got \[16,32\]/,
    );
    expect(msg).toMatch(/missing tensor "model.layers.2.mlp.up_proj.weight"/);
    const fewer = paramSpecs({ ...config, nLayers: 1 });
    expect(() => r.validate(fewer)).toThrow(
      /unexpected tensor "model.layers.1.mlp.up_proj.weight"/,
    );
    await r.close();
  });

  it("saves single-file and sharded layouts that read back identically", async () => {
    const config = PRESETS.tiny;
    const specs = paramSpecs(config);
    const data = new Map(specs.map((s, i) => [s.name, new Float32Array(s.numel).fill(i / 7)]));
    const sources = specs.map((s) => ({
      name: s.name,
      shape: s.shape,
      data: () => data.get(s.name) as Float32Array,
    }));
    for (const maxShardBytes of [2 ** 30, 20_000]) {
      const dir = await tmp();
      await saveCheckpoint(dir, config, sources, { dtype: "f32", maxShardBytes });
      const files = await readdir(dir);
      if (maxShardBytes === 20_000) expect(files).toContain("model.safetensors.index.json");
      else expect(files.sort()).toEqual(["config.json", "model.safetensors"]);
      expect(await readConfig(dir)).toEqual({ ...config, padTokenId: undefined });
      const r = await CheckpointReader.open(dir);
      r.validate(specs);
      for (const s of specs) expect(await r.readF32(s.name)).toEqual(data.get(s.name));
      await r.close();
    }
  });

  it("ignores derived rotary inv_freq buffers of old HF checkpoints", async () => {
    const config = { ...PRESETS.tiny, nLayers: 1 };
    const specs = paramSpecs(config);
    const sources = specs.map((s) => ({
      name: s.name,
      shape: s.shape,
      data: () => new Float32Array(s.numel),
    }));
    sources.push({
      name: "model.layers.0.self_attn.rotary_emb.inv_freq",
      shape: [4],
      data: () => new Float32Array(4),
    });
    const dir = await tmp();
    await saveCheckpoint(dir, config, sources);
    const r = await CheckpointReader.open(dir);
    r.validate(specs);
    expect(r.names()).not.toContain("model.layers.0.self_attn.rotary_emb.inv_freq");
    await r.close();
  });

  it("explains an empty directory", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "notes.txt"), "x");
    await expect(CheckpointReader.open(dir)).rejects.toThrow(
      /no model.safetensors or model.safetensors.index.json found \(directory holds: notes.txt\)/,
    );
  });
});
