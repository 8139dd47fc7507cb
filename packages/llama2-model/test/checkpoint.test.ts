// Checkpoint directories: the sharded F16 fixture, HF layout round trips, atomic writes, and errors
// naming missing / extra / mis-shaped tensors (the safetensors format itself: tensor/src/io.test.ts).
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
  saveModelFolder,
  WeightsError,
} from "../src/index";

const FIX = join(import.meta.dirname, "..", "fixtures");

async function tmp() {
  return mkdtemp(join(tmpdir(), "llama2-st-"));
}

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
      await saveModelFolder(dir, config, sources, { dtype: "f32", maxShardBytes });
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
    await saveModelFolder(dir, config, sources);
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
