// The loader: paper and packing modes, seeded shuffling, rank sharding, exact resume from a JSON
// state (same batches and same bad-input report as an uninterrupted run), workers == inline.
import { describe, expect, it } from "vitest";
import {
  type Batch,
  byteTokenizer,
  createLoader,
  defaultDatasetPath,
  encodeDocument,
  type LoaderOptions,
  LoaderOptionsError,
  llama2Tokenizer,
  ResumeStateError,
  readDocuments,
  resolveAnchors,
  withAnchorToken,
} from "../src/index";
import { fixture } from "./helpers";

const bytes = withAnchorToken(byteTokenizer());
const heldout = defaultDatasetPath("heldout");
// bad records, a cut gzip file (skipped whole: no trailer to verify) and a cut zstd file (its
// complete blocks are read)
const withBad = [
  fixture("bad", "bad.jsonl"),
  fixture("bad", "truncated.jsonl.gz"),
  fixture("bad", "truncated.jsonl.zst"),
];

interface Run {
  batches: Batch[];
  report: string;
}

async function run(opts: LoaderOptions, limit = Infinity): Promise<Run> {
  const loader = await createLoader(opts);
  const batches: Batch[] = [];
  for await (const b of loader.batches()) {
    batches.push(b);
    if (batches.length >= limit) break;
  }
  return { batches, report: JSON.stringify(loader.report.snapshot()) };
}

function key(b: Batch): string {
  return [
    b.batch,
    b.seqLen,
    [...b.inputIds].join(","),
    [...b.anchorMask].join(""),
    [...b.docIds].join(","),
    [...b.lengths].join(","),
  ].join("|");
}

function rowsOf(b: Batch): Array<{ ids: number[]; doc: number; len: number; docs: number[] }> {
  return Array.from({ length: b.batch }, (_, r) => {
    const s = r * b.seqLen;
    const len = b.lengths[r]!;
    return {
      ids: [...b.inputIds.subarray(s, s + len)],
      doc: b.docIds[s]!,
      len,
      docs: [...b.docIds.subarray(s, s + len)],
    };
  });
}

describe("paper mode", () => {
  it("one document per row, right-truncated, padded; padding from lengths", async () => {
    const L = 128;
    const { batches } = await run({
      source: heldout,
      tokenizer: bytes,
      contextLength: L,
      batchSize: 4,
      anchors: { mode: "ac" },
    });
    const anchors = resolveAnchors(bytes, { mode: "ac" });
    const docs: string[] = [];
    for await (const d of readDocuments(heldout)) docs.push(d.text);
    expect(batches.reduce((s, b) => s + b.batch, 0)).toBe(docs.length);
    let row = 0;
    for (const b of batches) {
      expect(b.inputIds.length).toBe(b.batch * L);
      for (let r = 0; r < b.batch; r++, row++) {
        const enc = encodeDocument(docs[row]!, bytes, anchors);
        const len = Math.min(L, enc.ids.length);
        const s = r * L;
        expect(b.lengths[r]).toBe(len);
        expect([...b.inputIds.subarray(s, s + len)]).toEqual([...enc.ids.subarray(0, len)]);
        expect([...b.anchorMask.subarray(s, s + len)]).toEqual([...enc.anchors.subarray(0, len)]);
        expect(new Set(b.docIds.subarray(s, s + len))).toEqual(new Set([row]));
        expect([...b.inputIds.subarray(s + len, s + L)].every((x) => x === bytes.padId)).toBe(true);
        expect([...b.docIds.subarray(s + len, s + L)].every((x) => x === -1)).toBe(true);
        expect([...b.anchorMask.subarray(s + len, s + L)].every((x) => x === 0)).toBe(true);
      }
    }
    expect(batches[batches.length - 1]!.state.done).toBe(true);
  });
});

describe("packing mode", () => {
  it("fills rows end to end; every token of every document appears once, in order", async () => {
    const { batches } = await run({
      source: heldout,
      tokenizer: bytes,
      contextLength: 100,
      batchSize: 3,
      mode: "pack",
      eos: true,
    });
    const byDoc = new Map<number, number[]>();
    const rows = batches.flatMap(rowsOf);
    for (const r of rows.slice(0, -1)) expect(r.len).toBe(100);
    for (const r of rows) {
      r.ids.forEach((id, i) => {
        const list = byDoc.get(r.docs[i]!) ?? [];
        list.push(id);
        byDoc.set(r.docs[i]!, list);
      });
    }
    let n = 0;
    for await (const d of readDocuments(heldout)) {
      expect(byDoc.get(n)).toEqual(bytes.encode(d.text, { eos: true }));
      n++;
    }
    expect(byDoc.size).toBe(n);
  });
});

describe("shuffling and sharding", () => {
  const base: LoaderOptions = {
    source: heldout,
    tokenizer: bytes,
    contextLength: 32,
    batchSize: 5,
  };
  const docsOf = (r: Run) => r.batches.flatMap(rowsOf).map((x) => x.doc);

  it("is deterministic per seed, differs across seeds, and keeps every document once", async () => {
    const a = await run({ ...base, shuffle: { seed: 34, blockSize: 16 } });
    const b = await run({ ...base, shuffle: { seed: 34, blockSize: 16 } });
    const c = await run({ ...base, shuffle: { seed: 35, blockSize: 16 } });
    const plain = await run(base);
    expect(a.batches.map(key)).toEqual(b.batches.map(key));
    expect(a.batches.map(key)).not.toEqual(c.batches.map(key));
    const firstRows = (r: Run) => r.batches.flatMap(rowsOf).map((x) => x.ids.join(","));
    expect(firstRows(a)).not.toEqual(firstRows(plain));
    expect([...firstRows(a)].sort()).toEqual([...firstRows(plain)].sort());
  });

  it("ranks partition the documents (disjoint, complete)", async () => {
    const all = docsOf(await run({ ...base, shuffle: { seed: 1, blockSize: 8 } }));
    const parts = await Promise.all(
      [0, 1, 2].map((rank) =>
        run({ ...base, shuffle: { seed: 1, blockSize: 8 }, rank, worldSize: 3 }),
      ),
    );
    const got = parts.flatMap(docsOf);
    expect(got.length).toBe(all.length);
    expect([...got].sort((x, y) => x - y)).toEqual([...all].sort((x, y) => x - y));
    parts.forEach((p, rank) => {
      expect(docsOf(p).every((d) => d % 3 === rank)).toBe(true);
    });
  });
});

describe("resume", () => {
  const configs: Array<[string, LoaderOptions]> = [
    ["paper, no shuffle", { source: heldout, tokenizer: bytes, contextLength: 64, batchSize: 3 }],
    [
      "paper, shuffle, rank 1 of 2",
      {
        source: heldout,
        tokenizer: bytes,
        contextLength: 64,
        batchSize: 2,
        shuffle: { seed: 7, blockSize: 5 },
        rank: 1,
        worldSize: 2,
      },
    ],
    [
      "pack, shuffle, AC, 2 epochs",
      {
        source: heldout,
        tokenizer: bytes,
        contextLength: 300,
        batchSize: 2,
        mode: "pack",
        anchors: { mode: "ac" },
        shuffle: { seed: 3, blockSize: 9 },
        epochs: 2,
      },
    ],
    [
      "pack, bad input files",
      {
        source: withBad,
        tokenizer: bytes,
        contextLength: 16,
        batchSize: 4,
        mode: "pack",
        shuffle: { seed: 9, blockSize: 50, files: true },
      },
    ],
  ];

  it.each(configs)(
    "%s: resuming after N batches yields exactly the remaining batches",
    async (_name, opts) => {
      const full = await run(opts);
      const total = full.batches.length;
      expect(total).toBeGreaterThan(4);
      for (const n of [1, 2, Math.floor(total / 2), total - 1]) {
        const head = await run(opts, n);
        const state = JSON.parse(JSON.stringify(head.batches[n - 1]!.state));
        const tail = await run({ ...opts, resume: state });
        expect([...head.batches, ...tail.batches].map(key)).toEqual(full.batches.map(key));
        expect(tail.report).toBe(full.report);
        expect(tail.batches[tail.batches.length - 1]!.state.batches).toBe(total);
      }
      const done = full.batches[total - 1]!.state;
      expect((await run({ ...opts, resume: done })).batches.length).toBe(0);
    },
  );

  it("bad input is counted once across a resume", async () => {
    const full = await run(configs[3]![1]);
    const counts = JSON.parse(full.report).counts;
    expect(counts["malformed-json"]).toBe(1);
    expect(counts.truncated).toBe(2); // the cut .gz and the cut .zst
  });

  it("refuses a state from another configuration", async () => {
    const opts = configs[0]![1];
    const { batches } = await run(opts, 1);
    const state = batches[0]!.state;
    await expect(createLoader({ ...opts, batchSize: 4, resume: state })).rejects.toThrow(
      ResumeStateError,
    );
    await expect(
      createLoader({ ...opts, resume: { ...state, version: 2 } as never }),
    ).rejects.toThrow(/malformed/);
  });
});

describe("workers and options", () => {
  it("worker threads give exactly the inline batches (Llama-2, AC, packing)", async () => {
    const opts: LoaderOptions = {
      source: heldout,
      tokenizer: withAnchorToken(llama2Tokenizer()),
      anchors: { mode: "ac" },
      mode: "pack",
      contextLength: 256,
      batchSize: 4,
      shuffle: { seed: 2 },
    };
    const inline = await run(opts);
    const pooled = await run({ ...opts, workers: 2 });
    expect(pooled.batches.map(key)).toEqual(inline.batches.map(key));
  });

  it("rejects bad options with LoaderOptionsError", async () => {
    const o = { source: heldout, tokenizer: bytes };
    await expect(createLoader({ ...o, contextLength: 0 })).rejects.toThrow(LoaderOptionsError);
    await expect(createLoader({ ...o, rank: 2, worldSize: 2 })).rejects.toThrow(/rank/);
    await expect(createLoader({ ...o, shuffle: { seed: 1, blockSize: 0 } })).rejects.toThrow(
      /blockSize/,
    );
  });
});
