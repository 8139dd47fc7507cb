// Streaming readers over real-format fixtures (plain, gzip, zstd; made with the CLIs) and the
// dataset layouts: Sample folder glob, 1T mirror (+ urls.txt), V2 documents, single file, list.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DocumentReader, signalsPath } from "../src/documents";
import { BadInputReport, DatasetError, readDocuments, resolveDataset } from "../src/index";
import { readLines } from "../src/line-reader";
import { collect, fixture } from "./helpers";

async function lines(path: string, highWaterMark?: number, maxLineBytes?: number) {
  const out: Array<{ kind: string; line: number; text?: string }> = [];
  for await (const ev of readLines(path, { highWaterMark, maxLineBytes })) {
    out.push(
      ev.kind === "line"
        ? { kind: ev.kind, line: ev.line, text: ev.bytes.toString("utf8") }
        : { kind: ev.kind, line: ev.line },
    );
  }
  return out;
}

describe("readLines", () => {
  const dir = mkdtempSync(join(tmpdir(), "rp-lines-"));
  const body = Array.from({ length: 500 }, (_, i) =>
    JSON.stringify({ text: `line ${i} ${"x".repeat(i % 37)}` }),
  );
  const plain = join(dir, "a.jsonl");
  writeFileSync(plain, `${body.join("\n")}\n`);
  execFileSync("gzip", ["-k", "-n", plain]);
  execFileSync("zstd", ["-q", "-k", plain]);

  it.each(["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"])(
    "reads %s identically across chunk sizes",
    async (name) => {
      for (const hwm of [7, 64, 1 << 20]) {
        const got = await lines(join(dir, name), hwm);
        expect(got.length).toBe(500);
        expect(got.map((l) => l.text)).toEqual(body);
        expect(got.map((l) => l.line)).toEqual(body.map((_, i) => i + 1));
      }
    },
  );

  it("strips CRLF, keeps a last line without newline, skips over-long lines", async () => {
    const p = join(dir, "b.jsonl");
    writeFileSync(p, `short\r\n${"y".repeat(100)}\nlast`);
    expect(await lines(p, 16)).toEqual([
      { kind: "line", line: 1, text: "short" },
      { kind: "line", line: 2, text: "y".repeat(100) },
      { kind: "line", line: 3, text: "last" },
    ]);
    const capped = await lines(p, 16, 50);
    expect(capped.map((l) => l.kind)).toEqual(["line", "too-long", "line"]);
    expect(capped[2]).toEqual({ kind: "line", line: 3, text: "last" });
  });

  it("reports a truncated zstd file at the line being read", async () => {
    const got = await lines(fixture("bad", "truncated.jsonl.zst"));
    const last = got[got.length - 1]!;
    expect(last.kind).toBe("truncated");
    expect(got.length).toBeGreaterThan(1);
    expect(last.line).toBe(got.length);
    expect(got[got.length - 2]!.text).toBe(`{"text":"row ${got.length - 1}"}`);
  });

  it("reports a truncated gzip file at line 1 with no line (no trailer to verify the data)", async () => {
    const got = await lines(fixture("bad", "truncated.jsonl.gz"));
    expect(got).toHaveLength(1);
    expect(got[0]!.kind).toBe("truncated");
    expect(got[0]!.line).toBe(1);
  });

  it("throws on a missing file", async () => {
    await expect(lines(join(dir, "nope.jsonl"))).rejects.toThrow(/ENOENT/);
  });

  it("cleans up", () => rmSync(dir, { recursive: true, force: true }));
});

describe("layouts", () => {
  it("Sample folder: globs *_sample.jsonl in code-unit order, any cc dump name", async () => {
    const ds = await resolveDataset(fixture("sample"));
    expect(ds.layout).toBe("sample");
    expect(ds.files.map((f) => f.relPath)).toEqual([
      "arxiv_sample.jsonl",
      "book_sample.jsonl",
      "c4_sample.jsonl",
      "cc_2019-30_sample.jsonl",
      "cc_2023-05_sample.jsonl",
      "github_sample.jsonl",
      "stackexchange_sample.jsonl",
      "wikipedia_sample.jsonl",
    ]);
    const { docs } = await collect(fixture("sample"));
    expect(docs.map((d) => d.subset)).toEqual([
      "arxiv",
      "arxiv",
      "book",
      "book",
      "c4",
      "common_crawl",
      "common_crawl",
      "github",
      "stackexchange",
      "wikipedia",
    ]);
    expect(docs.filter((d) => d.subset === "common_crawl").map((d) => d.dump)).toEqual([
      "2019-30",
      "2023-05",
    ]);
  });

  it("1T mirror: subset and dump from directories, zstd common crawl", async () => {
    const ds = await resolveDataset(fixture("mirror"));
    expect(ds.layout).toBe("mirror");
    const { docs } = await collect(fixture("mirror"));
    expect(docs.map((d) => [d.subset, d.dump ?? null, d.text])).toEqual([
      ["arxiv", null, "Mirror arxiv one."],
      ["arxiv", null, "Mirror arxiv two."],
      ["book", null, "Mirror book."],
      ["c4", null, "Mirror c4."],
      ["common_crawl", "2019-30", "CC head row."],
      ["common_crawl", "2019-30", "CC head row two."],
      ["common_crawl", "2023-06", "CC 2023 middle."],
      ["wikipedia", null, "Mirror wiki."],
    ]);
  });

  it("1T mirror with urls.txt: listed files only, in listed order", async () => {
    const { docs } = await collect(fixture("mirror-urls"));
    expect(docs.map((d) => [d.subset, d.text])).toEqual([
      ["c4", "Listed c4."],
      ["arxiv", "Listed arxiv."],
    ]);
  });

  it("urls.txt naming a missing file: DatasetError, or skipped with allowMissing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rp-urls-"));
    writeFileSync(
      join(dir, "urls.txt"),
      "https://data.together.xyz/redpajama-data-1T/v1.0.0/book/book.jsonl\n",
    );
    await expect(resolveDataset(dir)).rejects.toThrow(DatasetError);
    await expect(resolveDataset(dir)).rejects.toThrow(/1 of 1 listed files are missing/);
    await expect(resolveDataset({ path: dir, allowMissing: true })).rejects.toThrow(
      /no data files/,
    );
    rmSync(dir, { recursive: true });
  });

  it("V2 documents: raw_content and the V2 meta mapping, doc_id from the tag and row", async () => {
    const ds = await resolveDataset(fixture("v2"));
    expect(ds.layout).toBe("v2");
    const { docs } = await collect(fixture("v2"));
    expect(docs.map((d) => d.text)).toEqual([
      "V2 head document one.",
      "V2 head document two.",
      "V2 middle document.",
    ]);
    expect(docs[0]!.meta).toEqual({
      url: "https://v2.example/a",
      language: "en",
      source_domain: "v2.example",
      date_download: "2023-06-01T00:00:00Z",
      digest: "sha1:AAA",
      partition: "head",
      snapshot: "2023-06",
      doc_id: "2023-06/0000/en_head.json.gz/0",
    });
    expect(docs[1]!.meta.doc_id).toBe("2023-06/0000/en_head.json.gz/1");
    expect(docs[2]!.meta.partition).toBe("middle");
    expect(docs.every((d) => d.subset === "redpajama_v2")).toBe(true);
  });

  it("V2 quality signals: attached line by line on request, absent without a signals file", async () => {
    const docs = [];
    for await (const d of readDocuments(fixture("v2"), { v2Signals: true })) docs.push(d);
    expect(docs[0]!.meta.quality_signals).toEqual({
      ccnet_perplexity: [[0, 21, 100]],
      rps_doc_word_count: [[0, 21, 4]],
    });
    expect(docs[1]!.meta.quality_signals).toEqual({
      ccnet_perplexity: [[0, 21, 250.5]],
      rps_doc_word_count: [[0, 21, 4]],
    });
    expect("quality_signals" in docs[2]!.meta).toBe(false);
    const plain = await collect(fixture("v2"));
    expect(plain.docs.some((d) => "quality_signals" in d.meta)).toBe(false);
    const ds = await resolveDataset(fixture("v2"));
    const reader = new DocumentReader(ds.files, new BadInputReport(), undefined, true);
    await reader.seek({ fileIndex: 0, line: 2 });
    const second = await reader.next();
    expect(second!.text).toBe("V2 head document two.");
    expect((second!.meta.quality_signals as Record<string, unknown>).ccnet_perplexity).toEqual([
      [0, 21, 250.5],
    ]);
    expect(reader.position()).toEqual({ fileIndex: 0, line: 3 });
    await reader.close();
    expect(signalsPath("/x/documents/2023-06/0000/en_head.json.gz")).toBe(
      "/x/quality_signals/2023-06/0000/en_head.signals.json.gz",
    );
  });

  it("a single file and a list of files", async () => {
    const single = await collect(fixture("sample", "cc_2019-30_sample.jsonl"));
    expect(single.docs.map((d) => [d.subset, d.dump])).toEqual([["common_crawl", "2019-30"]]);
    const list = await collect([
      fixture("sample", "wikipedia_sample.jsonl"),
      fixture("mirror", "book", "book.jsonl"),
    ]);
    expect(list.docs.map((d) => [d.subset, d.file])).toEqual([
      ["wikipedia", "sample/wikipedia_sample.jsonl"],
      ["book", "mirror/book/book.jsonl"],
    ]);
  });

  it("unknown layouts walk every data file; SlimPajama set names give the subset", async () => {
    const { docs } = await collect(fixture("slim"));
    expect(docs.map((d) => [d.subset, d.text])).toEqual([
      ["c4", "Slim c4 row."],
      ["common_crawl", "Slim cc row."],
    ]);
  });

  it("missing paths and empty folders are DatasetErrors", async () => {
    await expect(resolveDataset(fixture("nope"))).rejects.toThrow(DatasetError);
    const dir = mkdtempSync(join(tmpdir(), "rp-empty-"));
    await expect(resolveDataset(dir)).rejects.toThrow(/no data files found/);
    rmSync(dir, { recursive: true });
  });
});
