// Bad model folders that used to load silently: NaN/Infinity in weights (refused by tensor name),
// special-token ids outside the vocabulary (refused by field), and weight_map entries pointing
// outside the model folder (refused before any file is opened).

import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { f32ToF16, initDevice } from "@anllm/tensor";
import { readSafetensorsHeader, readSafetensorsTensor, writeSafetensors } from "@anllm/tensor/io";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, configFromHF, PRESETS, validateConfig, WeightsError } from "../src/index";
import { loadModel, openCheckpoint } from "../src/node";
import { firstNonFinite } from "../src/weights";

const FIX = join(import.meta.dirname, "..", "fixtures", "tiny-gqa");

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
});

async function copyFixture(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "llama2-rel-"));
  await cp(FIX, dir, { recursive: true });
  return dir;
}

/** Sets element `at` of tensor `name` in shard `file` of `dir` to `value`. */
async function poison(dir: string, file: string, name: string, value: number, at = 0) {
  const path = join(dir, file);
  const h = await readSafetensorsHeader(path);
  const tensors = [];
  for (const n of h.entries.keys()) {
    const t = await readSafetensorsTensor(path, h, n);
    if (n === name) t.data[at] = value;
    tensors.push({ name: n, shape: t.shape, data: () => t.data });
  }
  await writeSafetensors(
    path,
    tensors,
    h.entries.values().next().value!.dtype === "F16" ? "f16" : "f32",
  );
}

describe("non-finite weights", () => {
  it("firstNonFinite finds NaN and ±Infinity anywhere (f32 values and f16 codes) and accepts huge finite values", () => {
    expect(firstNonFinite(Float32Array.from([1, -2, 3e38, -3e38, 3e38]), false)).toBe(-1);
    expect(firstNonFinite(f32ToF16(Float32Array.from([1, -2, 65504, -65504])), true)).toBe(-1);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const data = new Float32Array(1000).fill(0.5);
      data[777] = bad;
      expect(firstNonFinite(data, false), String(bad)).toBe(777);
      expect(firstNonFinite(f32ToF16(data), true), `f16 ${bad}`).toBe(777);
    }
  });

  it("Llama2.load refuses a folder whose weights hold NaN or Infinity, naming file and tensor", async () => {
    const index = JSON.parse(await readFile(join(FIX, "model.safetensors.index.json"), "utf8"));
    const name = "model.layers.1.mlp.down_proj.weight";
    const shard: string = index.weight_map[name];
    for (const bad of [Number.NaN, Number.NEGATIVE_INFINITY]) {
      const dir = await copyFixture();
      await poison(dir, shard, name, bad, 5);
      for (const dtype of ["f32", "f16"] as const) {
        const err = await loadModel(dir, { dtype }).catch((e: unknown) => e as Error);
        expect(err).toBeInstanceOf(WeightsError);
        expect((err as Error).message).toBe(
          `${join(dir, shard)}: tensor "${name}" holds NaN or Infinity (first at index 5); the weights are corrupt (or were saved after training diverged)`,
        );
      }
    }
    const ok = await loadModel(await copyFixture());
    ok.dispose();
  });
});

const base = JSON.parse(await readFile(join(FIX, "config.json"), "utf8"));

describe("special-token ids", () => {
  it("refuses bos/eos/pad ids outside the vocabulary, naming the file and field", () => {
    const vocab: number = base.vocab_size;
    for (const [field, value] of [
      ["bos_token_id", vocab],
      ["eos_token_id", -3],
      ["pad_token_id", vocab + 100],
      ["eos_token_id", 1.5],
    ] as const) {
      expect(() => configFromHF({ ...base, [field]: value }, "m/config.json"), field).toThrow(
        new ConfigError(
          `m/config.json: "${field}" ${value} is not a token id of the vocabulary (expected an integer in [0, ${vocab}), vocab_size ${vocab})`,
        ),
      );
    }
    expect(() => configFromHF({ ...base, eos_token_id: [vocab, 2] }, "c.json")).toThrow(
      /"eos_token_id" \d+ is not a token id/,
    );
  });

  it("accepts in-range ids and pad_token_id -1 (old conversions: no padding token)", () => {
    const c = configFromHF({ ...base, pad_token_id: -1, bos_token_id: 0 });
    expect(c.padTokenId).toBeUndefined();
    expect(c.bosTokenId).toBe(0);
  });

  it("checks programmatic configs with the LlamaConfig names", () => {
    expect(() => validateConfig({ ...PRESETS.tiny, bosTokenId: PRESETS.tiny.vocabSize })).toThrow(
      /LlamaConfig: bosTokenId \d+ is not a token id/,
    );
  });
});

describe("weight_map entries", () => {
  it("refuses shards outside the model folder before opening anything", async () => {
    const secret = await mkdtemp(join(tmpdir(), "llama2-outside-"));
    await cp(join(FIX, "model-00001-of-00002.safetensors"), join(secret, "x.safetensors"));
    for (const shard of [
      join(secret, "x.safetensors"),
      "../outside.safetensors",
      "a/../../b",
      "",
    ]) {
      const dir = await copyFixture();
      const indexPath = join(dir, "model.safetensors.index.json");
      const index = JSON.parse(await readFile(indexPath, "utf8"));
      const name = Object.keys(index.weight_map)[0]!;
      index.weight_map[name] = shard;
      await writeFile(indexPath, JSON.stringify(index));
      const err = await openCheckpoint(dir).catch((e: unknown) => e as Error);
      expect(err, shard).toBeInstanceOf(WeightsError);
      expect((err as Error).message, shard).toMatch(
        shard === ""
          ? new RegExp(`weight_map entry "${name}" must be a file name`)
          : new RegExp(`weight_map entry "${name}" points outside the model folder`),
      );
      expect((err as Error).message.startsWith(`${indexPath}: `)).toBe(true);
    }
  });

  it("still accepts shards in a subfolder of the model folder", async () => {
    const dir = await copyFixture();
    const indexPath = join(dir, "model.safetensors.index.json");
    const index = JSON.parse(await readFile(indexPath, "utf8"));
    await cp(join(dir, "model-00001-of-00002.safetensors"), join(dir, "sub", "a.safetensors"), {
      recursive: true,
    });
    for (const [n, s] of Object.entries(index.weight_map)) {
      if (s === "model-00001-of-00002.safetensors") index.weight_map[n] = "sub/a.safetensors";
    }
    await writeFile(indexPath, JSON.stringify(index));
    const r = await openCheckpoint(dir);
    expect(r.files.map((f) => f.path).sort()).toEqual(
      [join(dir, "model-00002-of-00002.safetensors"), join(dir, "sub", "a.safetensors")].sort(),
    );
    await r.close();
  });
});

describe("non-regular files in a model folder", () => {
  it("refuses a FIFO as config.json, index or shard instead of blocking", async () => {
    for (const name of [
      "config.json",
      "model.safetensors.index.json",
      "model-00001-of-00002.safetensors",
    ]) {
      const dir = await copyFixture();
      await rm(join(dir, name));
      execFileSync("mkfifo", [join(dir, name)]);
      const err = await loadModel(dir).catch((e: unknown) => e as Error);
      expect(err, name).toBeInstanceOf(Error);
      expect((err as Error).message, name).toContain(join(dir, name));
      expect((err as Error).message, name).toMatch(/not a regular file/);
    }
  });
});
