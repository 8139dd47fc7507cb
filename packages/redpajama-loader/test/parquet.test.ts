// Parquet export: shards read back with hyparquet equal the loader's sequences (unpadded).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import {
  type Batch,
  byteTokenizer,
  createLoader,
  defaultDatasetPath,
  exportParquet,
  withAnchorToken,
} from "../src/index";

describe("exportParquet", () => {
  it("writes one row per sequence, readable with a standard Parquet reader", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rp-parquet-"));
    const opts = {
      source: defaultDatasetPath("heldout"),
      tokenizer: withAnchorToken(byteTokenizer()),
      anchors: { mode: "ac" as const },
      contextLength: 200,
      batchSize: 8,
    };
    const batches: Batch[] = [];
    for await (const b of (await createLoader(opts)).batches()) batches.push(b);
    const res = await exportParquet((await createLoader(opts)).batches(), {
      outDir: dir,
      rowsPerShard: 100,
      metadata: { tokenizer: "bytes+<AC>" },
    });
    const rows = batches.reduce((s, b) => s + b.batch, 0);
    expect(res.rows).toBe(rows);
    expect(res.files.length).toBe(Math.ceil(rows / 100));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const read: Array<Record<string, unknown>> = [];
    for (const f of res.files) {
      const buf = readFileSync(f);
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
      expect(parquetMetadata(ab).key_value_metadata).toContainEqual({
        key: "tokenizer",
        value: "bytes+<AC>",
      });
      read.push(...(await parquetReadObjects({ file: ab })));
    }
    let i = 0;
    for (const b of batches) {
      for (let r = 0; r < b.batch; r++, i++) {
        const s = r * b.seqLen;
        const len = b.lengths[r]!;
        expect(read[i]!.length).toBe(len);
        expect(read[i]!.input_ids).toEqual(Array.from(b.inputIds.subarray(s, s + len)));
        expect(read[i]!.anchor_mask).toEqual(Array.from(b.anchorMask.subarray(s, s + len)));
        expect(read[i]!.doc_ids).toEqual(Array.from(b.docIds.subarray(s, s + len)));
      }
    }
    expect(read.length).toBe(rows);
    rmSync(dir, { recursive: true });
    expect(existsSync(dir)).toBe(false);
  });
});
