// pytorch_model.bin reading against fixtures written by torch 1.13 (fixtures/torch-bin/
// make_torch_bin.py): the zip and the legacy format give every tensor's committed values (F32,
// F16, BF16, shared storages, storage offsets, non-contiguous views, 0-d); a pickle that calls
// another global is refused naming it; truncated and corrupted files are refused naming the file.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TorchBinError, TorchBinFile } from "./torch-bin";

const dir = join(import.meta.dirname, "..", "fixtures", "torch-bin");
const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as {
  tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>;
};
const tmp = mkdtempSync(join(tmpdir(), "anllm-torch-bin-"));

describe("TorchBinFile", () => {
  it.each(["state-zip.bin", "state-legacy.bin"])(
    "%s: every tensor equals the committed values",
    async (file) => {
      const f = await TorchBinFile.open(join(dir, file));
      try {
        expect([...f.entries.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
        for (const [name, want] of Object.entries(expected.tensors)) {
          const e = f.entry(name);
          expect([e.dtype, e.shape], name).toEqual([want.dtype, want.shape]);
          // values were converted to float32 by torch itself: exact equality
          expect(Array.from(await f.readF32(name)), name).toEqual(want.values);
        }
        // the shared storage and the views read as torch laid them out
        expect(f.entry("tied").storage).toBe(f.entry("0.weight").storage);
        expect(f.entry("row2")).toMatchObject({ offset: 10, stride: [1] });
        expect(f.entry("col1")).toMatchObject({ offset: 1, stride: [5] });
      } finally {
        await f.close();
      }
    },
  );

  it("refuses a pickle that calls another global, naming it", async () => {
    await expect(TorchBinFile.open(join(dir, "evil.bin"))).rejects.toThrow(
      /evil\.bin: pickle at byte \d+: refusing global posix\.system/,
    );
  });

  it("refuses truncated and corrupted files with the file name, never a crash", async () => {
    const zip = readFileSync(join(dir, "state-zip.bin"));
    const legacy = readFileSync(join(dir, "state-legacy.bin"));
    const cases: [string, Uint8Array][] = [
      ["zip-cut.bin", zip.subarray(0, zip.length - 40)],
      ["legacy-cut.bin", legacy.subarray(0, legacy.length - 7)],
      ["legacy-head.bin", legacy.subarray(0, 30)],
      ["empty.bin", new Uint8Array(0)],
      ["text.bin", new TextEncoder().encode("not a checkpoint at all\n")],
    ];
    // flip bytes inside the legacy pickles: each must be refused or read consistently
    for (let at = 10; at < 400; at += 37) {
      const b = Uint8Array.from(legacy);
      b[at] = (b[at] as number) ^ 0x5a;
      cases.push([`legacy-flip-${at}.bin`, b]);
    }
    let refused = 0;
    for (const [name, bytes] of cases) {
      const path = join(tmp, name);
      writeFileSync(path, bytes);
      try {
        const f = await TorchBinFile.open(path);
        for (const n of f.entries.keys()) await f.readF32(n);
        await f.close();
      } catch (e) {
        expect(e, name).toBeInstanceOf(TorchBinError);
        expect((e as Error).message, name).toContain(path);
        refused++;
      }
    }
    expect(refused).toBeGreaterThanOrEqual(5);
  });

  it("a missing file or a folder is a TorchBinError", async () => {
    await expect(TorchBinFile.open(join(tmp, "nope.bin"))).rejects.toThrow(TorchBinError);
    await expect(TorchBinFile.open(tmp)).rejects.toThrow(/not a regular file/);
    copyFileSync(join(dir, "state-zip.bin"), join(tmp, "ok.bin"));
    const f = await TorchBinFile.open(join(tmp, "ok.bin"));
    expect(() => f.entry("missing")).toThrow(/no tensor named "missing"/);
    await f.close();
  });
});
