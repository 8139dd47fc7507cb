// safetensors round trip, header layout (8-byte alignment, metadata) and truncated-file errors.
import { mkdtempSync, readFileSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CheckpointError } from "./errors";
import { readSafetensorsHeader, readSafetensorsTensor, writeSafetensors } from "./safetensors";

const tensors = new Map<string, { shape: number[]; data: Float32Array }>([
  ["b.weight", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
  ["a.bias", { shape: [3], data: Float32Array.from([0.1, Number.MIN_VALUE, 3e38]) }],
]);

async function writeSample(path: string): Promise<void> {
  const shapes = new Map([...tensors].map(([n, t]) => [n, t.shape]));
  await writeSafetensors(path, shapes, async (n) => tensors.get(n)!.data, { format: "pt" });
}

describe("safetensors", () => {
  it("round-trips f32 tensors bit-exactly with sorted names and metadata", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "st-")), "x.safetensors");
    await writeSample(path);
    const h = await readSafetensorsHeader(path);
    expect([...h.entries.keys()]).toEqual(["a.bias", "b.weight"]);
    expect(h.metadata).toEqual({ format: "pt" });
    expect(h.dataStart % 8).toBe(0);
    for (const [n, t] of tensors) {
      const got = await readSafetensorsTensor(path, h, n);
      expect(got.shape).toEqual(t.shape);
      expect(got.data).toEqual(t.data);
    }
    const raw = readFileSync(path);
    expect(Number(raw.readBigUInt64LE(0))).toBe(h.dataStart - 8);
    expect(raw.length).toBe(h.dataStart + 4 * 9);
  });

  it("reports a truncated file and a missing tensor with the path", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "st-")), "x.safetensors");
    await writeSample(path);
    const h = await readSafetensorsHeader(path);
    await expect(readSafetensorsTensor(path, h, "nope")).rejects.toThrow(/has no tensor "nope"/);
    truncateSync(path, h.dataStart + 8);
    await expect(readSafetensorsHeader(path)).rejects.toThrow(CheckpointError);
    await expect(readSafetensorsHeader(path)).rejects.toThrow(/truncated/);
  });

  it("refuses data whose length disagrees with the shape", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "st-")), "x.safetensors");
    const shapes = new Map([["w", [4]]]);
    await expect(writeSafetensors(path, shapes, async () => new Float32Array(3))).rejects.toThrow(
      /has 3 values, shape says 4/,
    );
  });
});
