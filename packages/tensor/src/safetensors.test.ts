// The browser-safe safetensors reader (SafetensorsReader over a ByteSource): the same tensors and
// the same header checks as the file reader, from an ArrayBuffer, a typed array or a Blob.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SafetensorsError } from "./errors";
import { SafetensorsFile, writeSafetensors } from "./io";
import { byteSource, SafetensorsReader } from "./safetensors";

async function sample(dtype: "f32" | "f16" | "bf16"): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "safetensors-bytes-")), "m.safetensors");
  await writeSafetensors(
    path,
    [
      { name: "a", shape: [2, 3], data: () => Float32Array.of(1, -2, 3.5, 0, 1e-3, 7) },
      { name: "b", shape: [4], data: () => Float32Array.of(0.25, 0.5, -8, 100) },
    ],
    dtype,
  );
  return path;
}

describe("SafetensorsReader (bytes in memory, Blobs)", () => {
  it("reads the same tensors as the file reader from an ArrayBuffer, a Uint8Array and a Blob", async () => {
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const path = await sample(dtype);
      const file = await SafetensorsFile.open(path);
      const bytes = await readFile(path);
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      for (const data of [buffer, new Uint8Array(bytes), new Blob([bytes])]) {
        const r = await SafetensorsReader.open(data, "m.safetensors");
        expect([...r.entries.keys()]).toEqual([...file.entries.keys()]);
        for (const name of ["a", "b"]) {
          expect(r.entry(name).shape).toEqual(file.entry(name).shape);
          expect(Array.from(await r.readF32(name))).toEqual(Array.from(await file.readF32(name)));
        }
        await r.close();
      }
      await file.close();
    }
  });

  it("refuses a truncated file and an unknown tensor, naming the file", async () => {
    const bytes = await readFile(await sample("f32"));
    const short = bytes.subarray(0, bytes.length - 4);
    await expect(SafetensorsReader.open(short, "cut.safetensors")).rejects.toThrow(
      /^cut\.safetensors: .*(data section|truncated)/,
    );
    const r = await SafetensorsReader.open(bytes, "ok.safetensors");
    expect(() => r.entry("zz")).toThrow(SafetensorsError);
    expect(() => r.entry("zz")).toThrow('ok.safetensors: no tensor named "zz"');
  });

  it("a byte source refuses reads past its end", async () => {
    const src = byteSource(new Uint8Array(10));
    expect(src.size).toBe(10);
    expect(Array.from(await src.read(8, 2))).toEqual([0, 0]);
    await expect(src.read(8, 4)).rejects.toThrow(/unexpected end of file at byte 10/);
    const blob = byteSource(new Blob([new Uint8Array(10)]));
    await expect(blob.read(9, 2)).rejects.toThrow(/unexpected end of file at byte 10/);
  });
});
