// Bad input that used to hang or mislead: data that yields no document (the loader must end, not
// spin through its epochs), FIFOs and other non-regular paths (refused, never opened), record-type
// messages that name the JSON type, and the default bound on a line's length.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { OutputPathError } from "@anllm/tensor/io";
import { describe, expect, it } from "vitest";
import {
  BadInputReport,
  byteTokenizer,
  createLoader,
  DatasetError,
  exportParquet,
  readDocuments,
  resolveDataset,
} from "../src/index";
import { DEFAULT_MAX_LINE_BYTES } from "../src/line-reader";
import { collect, fixture } from "./helpers";

const tmp = () => mkdtempSync(join(tmpdir(), "rp-reliability-"));

/** Seeded bytes (xorshift), so the "random bytes" file is the same on every run. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Files that yield zero documents, each as a loader source. */
function emptySources(dir: string): { empty: string; random: string; fakeGz: string; zst: string } {
  const empty = join(dir, "empty.jsonl");
  writeFileSync(empty, "");
  const random = join(dir, "random.jsonl");
  writeFileSync(random, noise(64 * 1024, 7));
  const fakeGz = join(dir, "text.jsonl.gz");
  writeFileSync(fakeGz, '{"text": "plain text, not gzip"}\n');
  const zst = join(dir, "truncated.jsonl.zst");
  // the frame header and the start of the first block only
  writeFileSync(zst, readFileSync(fixture("bad", "truncated.jsonl.zst")).subarray(0, 12));
  return { empty, random, fakeGz, zst };
}

describe("data that yields no document", () => {
  it("ends a loader with a million epochs at once instead of spinning", async () => {
    const dir = tmp();
    for (const [kind, path] of Object.entries(emptySources(dir))) {
      const t0 = Date.now();
      const loader = await createLoader({
        source: path,
        tokenizer: byteTokenizer(),
        contextLength: 16,
        batchSize: 2,
        epochs: 1_000_000,
        dropLast: true,
        shuffle: { seed: 1 },
      });
      let batches = 0;
      for await (const _ of loader.batches()) batches++;
      expect(batches, kind).toBe(0);
      expect(loader.stats.documents, kind).toBe(0);
      expect(loader.emptyEpoch, kind).toBe(true);
      expect(Date.now() - t0, kind).toBeLessThan(5000);
    }
  }, 30_000);

  it("still reads every epoch of data that has documents", async () => {
    const dir = tmp();
    const f = join(dir, "one.jsonl");
    writeFileSync(f, '{"text": "One sentence. Two."}\n');
    const loader = await createLoader({
      source: f,
      tokenizer: byteTokenizer(),
      contextLength: 64,
      batchSize: 1,
      epochs: 5,
    });
    let batches = 0;
    for await (const _ of loader.batches()) batches++;
    expect(batches).toBe(5);
    expect(loader.emptyEpoch).toBe(false);
  });

  it("counts why the records were skipped", async () => {
    const dir = tmp();
    const { random, fakeGz } = emptySources(dir);
    const a = await collect(random);
    expect(a.docs).toHaveLength(0);
    expect(a.report.total).toBeGreaterThan(0);
    const b = await collect(fakeGz);
    expect(b.docs).toHaveLength(0);
    expect(b.report.counts.corrupt).toBe(1);
    expect(b.report.samples[0]!.message).toMatch(
      /^gzip integrity check failed \(incorrect header check\)/,
    );
  });
});

describe("non-regular data paths", () => {
  it("refuses a FIFO given as a data path instead of blocking on it", async () => {
    const dir = tmp();
    const fifo = join(dir, "pipe.jsonl");
    execFileSync("mkfifo", [fifo]);
    await expect(resolveDataset(fifo)).rejects.toThrow(DatasetError);
    await expect(resolveDataset(fifo)).rejects.toThrow(`${fifo} is a FIFO (named pipe)`);
    await expect(resolveDataset([fifo, fixture("bad", "bad.jsonl")])).rejects.toThrow(/FIFO/);
    const docs = readDocuments(fifo);
    await expect(docs.next()).rejects.toThrow(/FIFO/);
    await expect(
      createLoader({ source: fifo, tokenizer: byteTokenizer(), contextLength: 8 }),
    ).rejects.toThrow(/FIFO/);
    await expect(resolveDataset("/dev/null")).rejects.toThrow("/dev/null is a device");
  });

  it("skips a FIFO inside a folder and reads the regular files", async () => {
    const dir = tmp();
    const sub = join(dir, "data");
    mkdirSync(sub);
    execFileSync("mkfifo", [join(sub, "a-pipe.jsonl")]);
    writeFileSync(join(sub, "b.jsonl"), '{"text": "Hello there."}\n');
    const ds = await resolveDataset(sub);
    expect(ds.files.map((f) => f.relPath)).toEqual(["b.jsonl"]);
    const { docs } = await collect(sub);
    expect(docs.map((d) => d.text)).toEqual(["Hello there."]);
  });

  it("refuses a FIFO listed in a mirror's urls.txt", async () => {
    const dir = tmp();
    mkdirSync(join(dir, "c4"));
    writeFileSync(join(dir, "c4", "a.jsonl"), '{"text": "Hi."}\n');
    execFileSync("mkfifo", [join(dir, "c4", "b.jsonl")]);
    writeFileSync(join(dir, "urls.txt"), "c4/a.jsonl\nc4/b.jsonl\n");
    await expect(resolveDataset(dir)).rejects.toThrow(/b\.jsonl is a FIFO/);
  });
});

describe("record messages", () => {
  it("names the JSON type of a record that is not an object", async () => {
    const dir = tmp();
    const f = join(dir, "types.jsonl");
    writeFileSync(f, '[1, 2]\nnull\n"text"\n42\n{"text": [1]}\n{"text": null}\n');
    const { report } = await collect(f);
    expect(report.samples.map((s) => s.message)).toEqual([
      "expected a JSON object, got an array",
      "expected a JSON object, got null",
      "expected a JSON object, got a string",
      "expected a JSON object, got a number",
      '"text" is an array, expected a string',
      '"text" is null, expected a string',
    ]);
  });
});

describe("line length bound", () => {
  it("skips a line longer than the default bound (16 MiB) and reports it with its line", async () => {
    expect(DEFAULT_MAX_LINE_BYTES).toBe(16 * 1024 * 1024);
    const dir = tmp();
    const f = join(dir, "long.jsonl");
    const long = `{"text": "${"a".repeat(DEFAULT_MAX_LINE_BYTES)}"}`;
    writeFileSync(f, `{"text": "Short one."}\n${long}\n{"text": "After."}\n`);
    const report = new BadInputReport();
    const texts: string[] = [];
    for await (const d of readDocuments(f, { report })) texts.push(d.text);
    expect(texts).toEqual(["Short one.", "After."]);
    expect(report.counts["line-too-long"]).toBe(1);
    expect(report.samples[0]).toMatchObject({
      reason: "line-too-long",
      file: "long.jsonl",
      line: 2,
    });
    expect(report.samples[0]!.message).toBe(`line has ${long.length} bytes`);
  });
});

describe("gzip integrity (CRC-32 and length trailer)", () => {
  // larger than zlib's output chunk, so a streaming reader would see data before the trailer
  const lines = Array.from({ length: 6000 }, (_, i) => JSON.stringify({ text: `Row ${i}. Fine.` }));
  const good = gzipSync(`${lines.join("\n")}\n`);

  /** `good` with byte `at` XOR `mask`. */
  function flipped(at: number, mask = 0x01): Buffer {
    const b = Buffer.from(good);
    b[at]! ^= mask;
    return b;
  }

  it("reads an intact file whole", async () => {
    const f = join(tmp(), "ok.jsonl.gz");
    writeFileSync(f, good);
    const { docs, report } = await collect(f);
    expect(docs).toHaveLength(6000);
    expect(report.total).toBe(0);
  });

  it("counts a file whose CRC or length does not match as corrupt and yields none of its lines", async () => {
    const cases: [string, Buffer, RegExp][] = [
      ["crc", flipped(good.length - 8), /incorrect data check/],
      ["length", flipped(good.length - 2), /incorrect length check/],
    ];
    for (const [kind, bytes, re] of cases) {
      const f = join(tmp(), `${kind}.jsonl.gz`);
      writeFileSync(f, bytes);
      const { docs, report } = await collect(f);
      expect(docs, kind).toHaveLength(0);
      expect(report.counts.corrupt, kind).toBe(1);
      expect(report.samples[0], kind).toMatchObject({ reason: "corrupt", line: 1 });
      expect(report.samples[0]!.message, kind).toMatch(re);
    }
  });

  it("never yields documents decoded from a bit-flipped body", async () => {
    // every single-bit flip in the deflate body: either the data fails to inflate or the CRC
    // catches it; no flip may produce documents that differ from the original lines
    const original = new Set(lines.map((l) => JSON.parse(l).text));
    const dir = tmp();
    let corrupt = 0;
    // (without the integrity pass, 26 of these 41 flips yielded altered documents)
    for (let at = 10, k = 0; at < good.length - 8 && k < 41; at += 331, k++) {
      const f = join(dir, `flip-${at}.jsonl.gz`);
      writeFileSync(f, flipped(at, 1 << (at % 8)));
      const { docs, report } = await collect(f);
      for (const d of docs) expect(original.has(d.text), `flip at ${at}`).toBe(true);
      if (report.counts.corrupt + report.counts.truncated > 0) {
        corrupt++;
        expect(docs, `flip at ${at}`).toHaveLength(0);
      }
    }
    expect(corrupt).toBeGreaterThan(0);
  });

  it("counts a cut file as truncated and uses none of its unverifiable lines", async () => {
    const f = join(tmp(), "cut.jsonl.gz");
    writeFileSync(f, good.subarray(0, good.length - 100));
    const { docs, report } = await collect(f);
    expect(docs).toHaveLength(0);
    expect(report.counts.truncated).toBe(1);
    expect(report.counts.corrupt).toBe(0);
    expect(report.samples[0]!.message).toMatch(
      /unexpected end of file; without its CRC\/length trailer/,
    );
  });
});

describe("Parquet export folder", () => {
  it("fails at once with the reason where the folder cannot be created", async () => {
    const f = join(tmp(), "a.jsonl");
    writeFileSync(f, '{"text": "One. Two."}\n');
    const loader = await createLoader({ source: f, tokenizer: byteTokenizer(), contextLength: 8 });
    const t0 = Date.now();
    const err = await exportParquet(loader.batches(), { outDir: "/proc/anllm-x/pq" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutputPathError);
    expect((err as Error).message).toMatch(/does not allow new entries \(ENOENT\)/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
