// Normalisation rules and every bad-input reason, with counts, file and line.
import { describe, expect, it } from "vitest";
import { BAD_INPUT_REASONS, BadInputReport, BadRecordError, readDocuments } from "../src/index";
import { type FileInfo, normaliseLine, normaliseRow } from "../src/records";
import { collect, fixture } from "./helpers";

const info: FileInfo = { path: "/x/f.jsonl", relPath: "f.jsonl", subset: "arxiv" };

describe("normalisation", () => {
  it("keeps meta objects unchanged, unknown keys included, never requires a key", () => {
    const r = new BadInputReport();
    const meta = { arxiv_id: "1", weird: { nested: [1, 2] } };
    expect(normaliseRow({ text: "t", meta }, info, 3, r)).toEqual({
      text: "t",
      meta,
      subset: "arxiv",
      file: "f.jsonl",
      line: 3,
    });
    expect(normaliseRow({ text: "t", meta: {} }, info, 1, r)!.meta).toEqual({});
  });

  it("wraps every top-level key except text when meta is absent (common crawl rows)", () => {
    const r = new BadInputReport();
    const row = {
      text: "cc",
      pred_label: "__label__cc",
      pred_label_prob: 0.6,
      wiki_prob: 0.4,
      source: "cc/2019-30/a.json.gz/line2",
    };
    expect(normaliseRow(row, { ...info, subset: "common_crawl", dump: "2019-30" }, 5, r)).toEqual({
      text: "cc",
      meta: {
        pred_label: "__label__cc",
        pred_label_prob: 0.6,
        wiki_prob: 0.4,
        source: "cc/2019-30/a.json.gz/line2",
      },
      subset: "common_crawl",
      dump: "2019-30",
      file: "f.jsonl",
      line: 5,
    });
    expect(normaliseRow({ text: "only" }, info, 1, r)!.meta).toEqual({});
  });

  it("parses a stringified meta (HF parquet view), keeps a non-JSON string as value", () => {
    const r = new BadInputReport();
    expect(normaliseRow({ text: "t", meta: '{"url":"u"}' }, info, 1, r)!.meta).toEqual({
      url: "u",
    });
    expect(normaliseRow({ text: "t", meta: "plain" }, info, 1, r)!.meta).toEqual({
      value: "plain",
    });
  });

  it("drops a UTF-8 byte-order mark on the first line", () => {
    const r = new BadInputReport();
    const bytes = new TextEncoder().encode('\uFEFF{"text":"bom"}');
    expect(normaliseLine(bytes, info, 1, r)?.text).toBe("bom");
    expect(r.total).toBe(0);
  });

  it("takes the subset from the path, not from meta.source", () => {
    const r = new BadInputReport();
    expect(normaliseRow({ text: "t", meta: { source: "github" } }, info, 1, r)!.subset).toBe(
      "arxiv",
    );
  });

  it("Sample fixtures keep each source's meta keys", async () => {
    const { docs, report } = await collect(fixture("sample"));
    expect(report.total).toBe(0);
    const gh = docs.find((d) => d.subset === "github")!;
    expect(Object.keys(gh.meta)).toContain("alnum_prop");
    expect(gh.meta.repo_name).toBe("a/b");
    const se = docs.find((d) => d.subset === "stackexchange")!;
    expect(se.text).toBe("Q: Why?\nA: Because.");
    expect(se.meta.question_score).toBe("3");
    const book = docs.filter((d) => d.subset === "book");
    expect(book[0]!.meta).toEqual({
      short_book_title: "A Book",
      publication_date: 1900,
      url: "https://example.org/b",
    });
    expect(book[1]!.meta).toEqual({ title: "Another" });
  });
});

describe("bad input", () => {
  it("counts every reason with file and line, keeps the good lines", async () => {
    const { docs, report } = await collect(fixture("bad", "bad.jsonl"));
    expect(docs.map((d) => [d.line, d.text])).toEqual([
      [1, "good one"],
      [9, "crlf line ok"],
      [11, "last line without newline"],
    ]);
    expect(report.samples.map((s) => [s.reason, s.file, s.line])).toEqual([
      ["malformed-json", "bad.jsonl", 2],
      ["missing-text", "bad.jsonl", 3],
      ["non-string-text", "bad.jsonl", 4],
      ["invalid-utf8", "bad.jsonl", 5],
      ["empty-text", "bad.jsonl", 6],
      ["blank-line", "bad.jsonl", 7],
      ["not-an-object", "bad.jsonl", 8],
      ["non-string-text", "bad.jsonl", 10],
    ]);
    expect(report.counts).toEqual({
      "malformed-json": 1,
      "not-an-object": 1,
      "missing-text": 1,
      "non-string-text": 2,
      "invalid-utf8": 1,
      "empty-text": 1,
      "blank-line": 1,
      "line-too-long": 0,
      truncated: 0,
      corrupt: 0,
    });
    expect(Object.keys(report.counts).sort()).toEqual([...BAD_INPUT_REASONS].sort());
  });

  it("counts truncated compressed files and goes on with the next file", async () => {
    const { docs, report } = await collect([
      fixture("bad", "truncated.jsonl.gz"),
      fixture("bad", "truncated.jsonl.zst"),
      fixture("sample", "c4_sample.jsonl"),
    ]);
    expect(report.counts.truncated).toBe(2);
    const gz = report.samples.find((s) => s.file === "bad/truncated.jsonl.gz")!;
    const zst = report.samples.find((s) => s.file === "bad/truncated.jsonl.zst")!;
    expect(gz.reason).toBe("truncated");
    // a cut gzip file has no CRC/length trailer to vouch for its data: none of it is used
    expect(gz.line).toBe(1);
    expect(docs.filter((d) => d.file === "bad/truncated.jsonl.gz").length).toBe(0);
    expect(docs.filter((d) => d.file === "bad/truncated.jsonl.zst").length).toBe(zst.line - 1);
    expect(docs[docs.length - 1]!.text).toBe("A c4 page.");
  });

  it("counts over-long lines (maxLineBytes) with their line numbers", async () => {
    const report = new BadInputReport();
    const docs: string[] = [];
    for await (const d of readDocuments(fixture("sample", "arxiv_sample.jsonl"), {
      report,
      maxLineBytes: 150,
    }))
      docs.push(d.text);
    expect(docs).toEqual(["Second arxiv paper. It has two sentences."]);
    expect(report.counts["line-too-long"]).toBe(1);
    expect(report.samples[0]).toMatchObject({
      reason: "line-too-long",
      file: "arxiv_sample.jsonl",
      line: 1,
    });
  });

  it("strict mode throws a BadRecordError naming file, line and reason", async () => {
    const err = await collect(fixture("bad", "bad.jsonl"), true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRecordError);
    expect((err as BadRecordError).reason).toBe("malformed-json");
    expect((err as BadRecordError).line).toBe(2);
    expect((err as BadRecordError).message).toMatch(/^bad\.jsonl:2: malformed-json: /);
    const trunc = await collect(fixture("bad", "truncated.jsonl.zst"), true).catch(
      (e: unknown) => e,
    );
    expect((trunc as BadRecordError).reason).toBe("truncated");
  });

  it("snapshots are deep copies and restore exactly", () => {
    const r = new BadInputReport(false, 2);
    r.add("blank-line", "a", 1, "m");
    const m = r.mark();
    r.add("empty-text", "a", 2, "m");
    r.add("empty-text", "a", 3, "m");
    expect(r.samples.length).toBe(2);
    const snap = r.snapshotAt(m);
    expect(snap.samples.length).toBe(1);
    expect(snap.counts["empty-text"]).toBe(0);
    const r2 = new BadInputReport();
    r2.restore(JSON.parse(JSON.stringify(r.snapshot())));
    expect(r2.counts).toEqual(r.counts);
    expect(r2.samples).toEqual(r.samples);
  });
});
