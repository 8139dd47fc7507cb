// `anllm convert`: a PyTorch folder (pytorch_model.bin shards, zip and legacy format) becomes an HF
// safetensors folder holding the same tensors; bad input gets a clear error.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "@anllm/llama2-model/node";
import { describe, expect, it } from "vitest";
import { cli, cliJson } from "./helpers";

const TORCH_DIR = join(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "packages",
  "llama2-model",
  "fixtures",
  "tiny-gqa-torch",
);

describe("anllm convert", () => {
  it("writes a PyTorch folder as HF safetensors holding the same tensors", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "anllm-convert-")), "st");
    const r = await cliJson("convert", "--model", TORCH_DIR, "--out", out, "--dtype", "f32");
    expect(r).toMatchObject({ format: "safetensors", tensors: 21, dtype: "f32" });
    expect(readdirSync(out).sort()).toEqual(["config.json", "model.safetensors"]);
    const src = await openCheckpoint(TORCH_DIR);
    const dst = await openCheckpoint(out);
    expect(dst.names().sort()).toEqual(src.names().sort());
    for (const name of src.names()) {
      expect(dst.info(name), name).toEqual({ ...src.info(name), dtype: "F32" });
      expect(await dst.readF32(name), name).toEqual(await src.readF32(name));
    }
    await Promise.all([src.close(), dst.close()]);
  });

  it("refuses a folder without weights and an unknown format, naming them", async () => {
    const empty = mkdtempSync(join(tmpdir(), "anllm-convert-empty-"));
    const r = await cli("convert", "--model", empty, "--out", join(empty, "x"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(empty);
    const f = await cli("convert", "--model", TORCH_DIR, "--out", join(empty, "y"), "--to", "gguf");
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--to expects one of safetensors, got "gguf"/);
  });
});
