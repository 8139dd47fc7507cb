// Safetensors I/O (@anllm/tensor/io): BF16/F16/F32 decoding against a numpy-written file, round
// trips in every stored dtype, header layout, atomic writes and errors naming file and tensor.
import { mkdtemp, open, readdir, readFile, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  atomicWrite,
  readSafetensorsHeader,
  readSafetensorsTensor,
  SafetensorsError,
  SafetensorsFile,
  storedBytes,
  type TensorSource,
  writeSafetensors,
} from "./io";

// written by packages/llama2-model/fixtures/make_fixtures.py (numpy), with its exact values
const FIX = join(import.meta.dirname, "..", "fixtures");
const SAMPLE = join(FIX, "dtype-sample.safetensors");
const expected = JSON.parse(await readFile(join(FIX, "dtype-sample.json"), "utf8"));

async function tmp() {
  return mkdtemp(join(tmpdir(), "tensor-io-"));
}

const sample: TensorSource[] = [
  { name: "b.weight", shape: [2, 3], data: () => Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
  { name: "a.bias", shape: [3], data: async () => Float32Array.from([0.1, 1e-40, 3e38]) },
];

describe("safetensors reader", () => {
  it("decodes BF16, F16 and F32 written by numpy", async () => {
    const f = await SafetensorsFile.open(SAMPLE);
    expect(f.metadata.format).toBe("pt");
    expect(f.entry("bf16").shape).toEqual([2, 3]);
    expect(f.entry("f16").dtype).toBe("F16");
    expect([...(await f.readF32("bf16"))]).toEqual(expected.bf16);
    expect([...(await f.readF32("f16"))]).toEqual(expected.f16);
    expect([...new Uint16Array((await f.readBytes("f16")).buffer)]).toEqual(expected.f16Bits);
    expect([...(await f.readF32("f32"))]).toEqual(expected.f32.map(Math.fround));
    await expect(f.readF32("nope")).rejects.toThrow(
      /dtype-sample.safetensors: no tensor named "nope"/,
    );
    await f.close();
    const h = await readSafetensorsHeader(SAMPLE);
    expect((await readSafetensorsTensor(SAMPLE, h, "bf16")).data).toEqual(
      Float32Array.from(expected.bf16),
    );
  });

  it("rejects truncated files, bad headers and bad entries, naming file and tensor", async () => {
    const dir = await tmp();
    const bytes = await readFile(SAMPLE);
    const cut = join(dir, "cut.safetensors");
    await writeFile(cut, bytes.subarray(0, bytes.length - 4));
    const err = await SafetensorsFile.open(cut).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).file).toBe(cut);
    expect((err as SafetensorsError).tensor).toBe("f32");
    expect((err as Error).message).toMatch(
      /cut.safetensors: tensor "f32" has invalid data_offsets .*truncated/,
    );
    await expect(readSafetensorsHeader(cut)).rejects.toThrow(/truncated/);
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 1000n, true);
    await writeFile(join(dir, "bad.safetensors"), bad);
    await expect(SafetensorsFile.open(join(dir, "bad.safetensors"))).rejects.toThrow(
      /bad.safetensors: header length 1000 is impossible for a 16-byte file/,
    );
    const header = (h: object) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + 8);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    const cases: [object, RegExp][] = [
      [{ x: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, /"x" has dtype "I64"; expected/],
      [{ x: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, /"x" has an invalid shape/],
      [{ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, /"x" spans 8 bytes .* needs 12/],
    ];
    for (const [h, re] of cases) {
      await writeFile(join(dir, "h.safetensors"), header(h));
      await expect(SafetensorsFile.open(join(dir, "h.safetensors"))).rejects.toThrow(re);
    }
    await expect(SafetensorsFile.open(join(dir, "missing.safetensors"))).rejects.toThrow(
      /missing.safetensors: cannot open/,
    );
  });
});

describe("safetensors writer", () => {
  it("round-trips f32 exactly and f16/bf16 within rounding; data 8-byte aligned", async () => {
    const dir = await tmp();
    const a = new Float32Array([0.1, -2, 3.5, 1e-3, 7, 8]);
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const p = join(dir, `${dtype}.safetensors`);
      await writeSafetensors(p, [{ name: "a", shape: [2, 3], data: () => a }], dtype);
      const f = await SafetensorsFile.open(p);
      expect(f.entry("a").dtype).toBe(dtype.toUpperCase());
      expect(f.entry("a").byteLength).toBe(storedBytes([2, 3], dtype));
      const back = await f.readF32("a");
      const tol = dtype === "f32" ? 0 : dtype === "f16" ? 1e-3 : 1e-2;
      for (let i = 0; i < a.length; i++) {
        const diff = Math.abs((back[i] as number) - (a[i] as number));
        expect(diff).toBeLessThanOrEqual(tol * Math.abs(a[i] as number));
      }
      expect(f.dataStart % 8).toBe(0);
      await f.close();
    }
    expect((await readdir(dir)).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("keeps order, shapes, metadata and bits through the header/tensor functions", async () => {
    const path = join(await tmp(), "x.safetensors");
    await writeSafetensors(path, sample, "f32", { step: "3" });
    const h = await readSafetensorsHeader(path);
    expect([...h.entries.keys()]).toEqual(["b.weight", "a.bias"]);
    expect(h.metadata).toEqual({ format: "pt", step: "3" });
    expect(h.entries.get("a.bias")?.data_offsets).toEqual([24, 36]);
    for (const t of sample) {
      const got = await readSafetensorsTensor(path, h, t.name);
      expect(got.shape).toEqual(t.shape);
      expect(got.data).toEqual(await t.data());
    }
    const raw = await readFile(path);
    expect(Number(raw.readBigUInt64LE(0))).toBe(h.dataStart - 8);
    expect(raw.length).toBe(h.dataStart + 4 * 9);
    await expect(readSafetensorsTensor(path, h, "nope")).rejects.toThrow(
      /x.safetensors: no tensor named "nope"/,
    );
    await truncate(path, h.dataStart + 8);
    await expect(readSafetensorsTensor(path, h, "a.bias")).rejects.toThrow(
      /unexpected end of file .*truncated/,
    );
  });

  it("aborts without touching the target when a tensor's data is wrong", async () => {
    const dir = await tmp();
    const p = join(dir, "x.safetensors");
    await writeSafetensors(p, [{ name: "a", shape: [1], data: () => new Float32Array([1]) }]);
    await expect(
      writeSafetensors(p, [{ name: "a", shape: [2], data: () => new Float32Array([1]) }], "f16"),
    ).rejects.toThrow(/x.safetensors: tensor "a" has 1 values, shape \[2\] needs 2/);
    const twice = [sample[0] as TensorSource, sample[0] as TensorSource];
    await expect(writeSafetensors(p, twice)).rejects.toThrow(/"b.weight" appears twice/);
    const f = await SafetensorsFile.open(p);
    expect([...(await f.readF32("a"))]).toEqual([1]);
    await f.close();
    expect(await readdir(dir)).toEqual(["x.safetensors"]);
  });
});

describe("atomicWrite", () => {
  it("writes text and bytes, replaces the old content, leaves no temp file", async () => {
    const dir = await tmp();
    const p = join(dir, "state.json");
    await atomicWrite(p, '{"step": 1}');
    expect(await readFile(p, "utf8")).toBe('{"step": 1}');
    await atomicWrite(p, Uint8Array.of(1, 2, 255));
    expect([...(await readFile(p))]).toEqual([1, 2, 255]);
    expect(await readdir(dir)).toEqual(["state.json"]);
  });

  it("fsyncs before the rename; concurrent writes each land whole", async () => {
    const dir = await tmp();
    const p = join(dir, "x.txt");
    const probe = await open(join(dir, "probe"), "w");
    const sync = vi.spyOn(Object.getPrototypeOf(probe), "sync");
    await probe.close();
    await atomicWrite(p, "a");
    expect(sync).toHaveBeenCalled(); // the file (and the folder where supported)
    sync.mockRestore();
    const texts = ["x".repeat(100_000), "y".repeat(100_000)];
    await Promise.all(texts.map((t) => atomicWrite(p, t)));
    expect(texts).toContain(await readFile(p, "utf8"));
    expect((await readdir(dir)).sort()).toEqual(["probe", "x.txt"]);
  });

  it("a failed write creates nothing", async () => {
    const dir = await tmp();
    await expect(atomicWrite(join(dir, "missing", "x.txt"), "a")).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });
});
