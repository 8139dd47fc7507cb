// Fuzz (seeded, time-bounded): random .jsonl files (valid records, other JSON values, junk bytes,
// long lines), the same content gzip-compressed and then corrupted (bit flips, cuts, appended
// bytes), and cuts/flips of a real .zst file. Property: reading never throws (non-strict) and
// never hangs; every document is a valid record of the file it names, and a gzip file is either
// read whole and exactly or counted as corrupt/truncated with none of its lines used; the loader
// with a million epochs ends on data without documents. Prints the cases tried per kind.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { byteTokenizer, createLoader } from "../src/index";
import { collect, fixture } from "./helpers";

const SEED = 16_016;
const TIME_LIMIT_MS = 15_000;

/** One line of a fuzzed file and, when it is a valid record, the text it must yield. */
const lineArb: fc.Arbitrary<{ line: string; text: string | null }> = fc.oneof(
  fc
    .string({ minLength: 1, maxLength: 40 })
    .filter((t) => t.trim() !== "")
    .map((t) => ({ line: JSON.stringify({ text: t, meta: { n: 1 } }), text: t })),
  fc
    .jsonValue({ maxDepth: 2 })
    // objects with a text (or V2 raw_content) field are records; these lines must not be
    .filter((v) => !(typeof v === "object" && v !== null && ("text" in v || "raw_content" in v)))
    .map((v) => JSON.stringify(v))
    .filter((l) => l !== undefined && !l.includes("\n"))
    .map((line) => ({ line, text: null })),
  fc.string({ maxLength: 30 }).map((s) => ({ line: s.replace(/[\n\r]/g, " "), text: null })),
  fc.constantFrom(
    { line: '{"text": ""}', text: null },
    { line: '{"text": 5}', text: null },
    { line: "[1,2]", text: null },
    { line: '{"meta": {}}', text: null },
    { line: `{"text": "${"x".repeat(3000)}"}`, text: "x".repeat(3000) },
  ),
);

type Corruption =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "cut"; keep: number }
  | { kind: "append"; bytes: number[] };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("cut" as const), keep: fc.nat() }),
  fc.record({
    kind: fc.constant("append" as const),
    bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }),
  }),
);

function corrupt(b: Buffer, c: Corruption): Buffer {
  const out = Buffer.from(b);
  if (c.kind === "flip") {
    out[c.at % out.length]! ^= 1 << c.bit;
    return out;
  }
  if (c.kind === "cut") return out.subarray(0, c.keep % out.length);
  return Buffer.concat([out, Buffer.from(c.bytes)]);
}

describe("data file fuzz", () => {
  it("reads valid records exactly and skips or refuses everything else, without hanging", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rp-fuzz-"));
    const tried: Record<string, number> = {};
    const outcome: Record<string, number> = {};
    const bump = (o: Record<string, number>, k: string) => {
      o[k] = (o[k] ?? 0) + 1;
    };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { minLength: 0, maxLength: 30 }),
        fc.constantFrom("jsonl", "gz"),
        fc.option(corruptionArb, { nil: null }),
        async (lines, format, corruption) => {
          const body = lines.map((l) => l.line).join("\n") + (lines.length > 0 ? "\n" : "");
          const expected = lines.filter((l) => l.text !== null).map((l) => l.text);
          const path = join(dir, `f${n++}.${format === "gz" ? "jsonl.gz" : "jsonl"}`);
          let bytes: Buffer = format === "gz" ? gzipSync(body) : Buffer.from(body);
          bump(tried, format);
          if (corruption) {
            bytes = corrupt(bytes, corruption);
            bump(tried, `${format}+${corruption.kind}`);
          }
          writeFileSync(path, bytes);
          const docs: string[] = [];
          const { docs: read, report } = await collect(path);
          for (const d of read) {
            expect(typeof d.text).toBe("string");
            expect(d.text.trim()).not.toBe("");
            expect(d.line).toBeGreaterThan(0);
            docs.push(d.text);
          }
          if (format === "gz") {
            const rejected = report.counts.corrupt + report.counts.truncated;
            if (rejected > 0) {
              bump(outcome, "gz refused");
              expect(docs).toEqual([]);
            } else {
              // accepted: exactly the records of the original body (appended gzip members aside)
              bump(outcome, "gz read");
              expect(docs.slice(0, expected.length)).toEqual(expected);
            }
          } else if (!corruption) {
            bump(outcome, "jsonl exact");
            expect(docs).toEqual(expected);
          } else bump(outcome, "jsonl corrupted");
        },
      ),
      { seed: SEED, numRuns: 300, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.log(
      `data file fuzz (seed ${SEED}): ${n} files; tried ${JSON.stringify(tried)}; ${JSON.stringify(outcome)}`,
    );
    expect(outcome["gz refused"]).toBeGreaterThan(0);
    expect(outcome["gz read"]).toBeGreaterThan(0);
  }, 60_000);

  it("cuts and flips of a real .zst file end with documents of the original or a count", async () => {
    const zst = readFileSync(fixture("bad", "truncated.jsonl.zst"));
    const dir = mkdtempSync(join(tmpdir(), "rp-fuzz-zst-"));
    const tried: Record<string, number> = {};
    let n = 0;
    await fc.assert(
      fc.asyncProperty(corruptionArb, async (c) => {
        const path = join(dir, `z${n++}.jsonl.zst`);
        writeFileSync(path, corrupt(zst, c));
        tried[c.kind] = (tried[c.kind] ?? 0) + 1;
        const { docs } = await collect(path);
        // zstd has no checksum here: flipped literals may change text, but every document
        // must still be a parsed record with non-empty string text
        for (const d of docs) expect(typeof d.text === "string" && d.text.trim() !== "").toBe(true);
        if (c.kind === "cut") {
          docs.forEach((d, i) => {
            expect(d.text).toBe(`row ${i + 1}`);
          });
        }
      }),
      { seed: SEED, numRuns: 60, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.log(`zst fuzz (seed ${SEED}): ${n} files; tried ${JSON.stringify(tried)}`);
  }, 60_000);

  it("a loader with a million epochs ends on any file without documents", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rp-fuzz-empty-"));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('{"text": ""}', "[]", "null", "{oops", '{"meta": 1}', " "), {
          maxLength: 10,
        }),
        fc.boolean(),
        async (lines, gz) => {
          const path = join(dir, `e${n++}.${gz ? "jsonl.gz" : "jsonl"}`);
          const body = lines.join("\n");
          writeFileSync(path, gz ? gzipSync(body) : body);
          const loader = await createLoader({
            source: path,
            tokenizer: byteTokenizer(),
            contextLength: 8,
            batchSize: 2,
            epochs: 1_000_000,
            dropLast: true,
          });
          let batches = 0;
          for await (const _ of loader.batches()) batches++;
          expect(batches).toBe(0);
          expect(loader.emptyEpoch).toBe(true);
        },
      ),
      { seed: SEED, numRuns: 100, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.log(`empty-data loader fuzz (seed ${SEED}): ${n} files`);
  }, 60_000);
});
