// Checkpoint directories: the sharded F16 fixture, HF layout round trips, atomic writes, and errors
// naming missing / extra / mis-shaped tensors (the safetensors format itself: tensor/src/io.test.ts).

import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFromHF, PRESETS, paramSpecs, WeightsError } from "../src/index";
import { convertModelFolder, openCheckpoint, readConfig, saveModelFolder } from "../src/node";

const FIX = join(import.meta.dirname, "..", "fixtures");

async function tmp() {
  return mkdtemp(join(tmpdir(), "llama2-st-"));
}

describe("checkpoint directories", () => {
  it("opens the sharded F16 fixture and validates it against the config", async () => {
    const config = await readConfig(join(FIX, "tiny-gqa"));
    expect(config.nKvHeads).toBe(2);
    expect(config.ropeTheta).toBe(1000);
    const r = await openCheckpoint(join(FIX, "tiny-gqa"));
    expect(r.files.length).toBe(2);
    r.validate(paramSpecs(config));
    await r.close();
  });

  it("reads the same tensors from a PyTorch folder (pytorch_model.bin shards, zip and legacy)", async () => {
    const config = await readConfig(join(FIX, "tiny-gqa-torch"));
    const st = await openCheckpoint(join(FIX, "tiny-gqa"));
    const pt = await openCheckpoint(join(FIX, "tiny-gqa-torch"));
    expect(pt.files.map((f) => f.path.split("/").at(-1))).toEqual([
      "pytorch_model-00001-of-00002.bin",
      "pytorch_model-00002-of-00002.bin",
    ]);
    pt.validate(paramSpecs(config));
    expect(pt.names().sort()).toEqual(st.names().sort());
    for (const name of st.names())
      expect(await pt.readF32(name), name).toEqual(await st.readF32(name));
    await Promise.all([st.close(), pt.close()]);
  });

  it("converts a PyTorch folder to an HF safetensors folder (dtype kept, side files copied)", async () => {
    const src = await tmp();
    for (const f of await readdir(join(FIX, "tiny-gqa-torch")))
      await writeFile(join(src, f), await readFile(join(FIX, "tiny-gqa-torch", f)));
    await writeFile(join(src, "generation_config.json"), '{"max_new_tokens": 8}\n');
    const dst = join(await tmp(), "out");
    expect(await convertModelFolder(src, dst)).toEqual({ tensors: 21, dtype: "f16" });
    expect((await readdir(dst)).sort()).toEqual([
      "config.json",
      "generation_config.json",
      "model.safetensors",
    ]);
    const st = await openCheckpoint(join(FIX, "tiny-gqa"));
    const out = await openCheckpoint(dst);
    for (const name of st.names()) {
      expect(out.info(name), name).toEqual(st.info(name));
      expect(await out.readF32(name), name).toEqual(await st.readF32(name));
    }
    await Promise.all([st.close(), out.close()]);
    await expect(convertModelFolder(src, src)).rejects.toThrow(/must differ/);
  });

  it("names missing, extra and mis-shaped tensors with expected vs actual shape and file", async () => {
    const config = configFromHF(
      JSON.parse(await readFile(join(FIX, "tiny-gqa", "config.json"), "utf8")),
    );
    const r = await openCheckpoint(join(FIX, "tiny-gqa"));
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
      const r = await openCheckpoint(dir);
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
    const r = await openCheckpoint(dir);
    r.validate(specs);
    expect(r.names()).not.toContain("model.layers.0.self_attn.rotary_emb.inv_freq");
    await r.close();
  });

  it("explains an empty directory", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "notes.txt"), "x");
    await expect(openCheckpoint(dir)).rejects.toThrow(
      /no model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json found \(directory holds: notes.txt\)/,
    );
  });
});
