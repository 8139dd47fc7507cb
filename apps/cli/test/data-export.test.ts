// `anllm data export`: the training loader's sequences as Parquet shards, read back by an
// independent engine (DuckDB, not the writer's library): row count, token count, and checksums of
// the ids and anchor flags equal what the loader produced.
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { byteTokenizer, createLoader, withAnchorToken } from "@anllm/redpajama-loader";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { type AnyJson, cli, cliJson, FIXTURES } from "./helpers";

const CORPUS = join(FIXTURES, "corpus");

async function duck(sql: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  return (await c.runAndReadAll(sql)).getRows();
}

describe("anllm data export", () => {
  it("writes sequences that DuckDB reads back with the loader's rows, tokens and checksums", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "anllm-export-")), "parquet");
    const args = ["--tokenizer", "bytes", "--anchor", "ac", "--seq-len", "64", "--seed", "7"];
    const r = await cliJson<AnyJson>(
      "data",
      "export",
      CORPUS,
      "--out",
      out,
      ...args,
      "--rows-per-shard",
      "10",
    );
    expect(r.rows).toBeGreaterThan(10);
    expect(readdirSync(out).filter((f) => f.endsWith(".parquet"))).toHaveLength(r.files.length);
    expect(r.files.length).toBe(Math.ceil(r.rows / 10));
    // what the loader yields for the same options (an independent run)
    let ids = 0n;
    let anchors = 0;
    let tokens = 0;
    const loader = await createLoader({
      source: CORPUS,
      tokenizer: withAnchorToken(byteTokenizer()),
      anchors: { mode: "ac" },
      mode: "paper",
      contextLength: 64,
      batchSize: 64,
      shuffle: { seed: 7 },
      epochs: 1,
      dropLast: false,
    });
    for await (const b of loader.batches())
      for (let row = 0; row < b.batch; row++)
        for (let t = 0; t < b.lengths[row]!; t++) {
          ids += BigInt(b.inputIds[row * b.seqLen + t]!);
          anchors += b.anchorMask[row * b.seqLen + t]!;
          tokens++;
        }
    const [[rows, len, idSum, anchorSum, docs]] = (await duck(
      `select count(*), sum(length), sum(list_sum(input_ids)), sum(list_sum(anchor_mask)), ` +
        `count(*) filter (where len(doc_ids) = length) from read_parquet('${out}/*.parquet')`,
    )) as [[bigint, bigint, bigint, bigint, bigint]];
    expect(Number(rows)).toBe(r.rows);
    expect(Number(len)).toBe(tokens);
    expect(r.tokens).toBe(tokens);
    expect(BigInt(idSum)).toBe(ids);
    expect(Number(anchorSum)).toBe(anchors);
    expect(Number(docs)).toBe(r.rows);
  });

  it("refuses data without documents and an unknown format", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anllm-export-bad-"));
    writeFileSync(join(dir, "empty.jsonl"), "");
    const r = await cli(
      "data",
      "export",
      join(dir, "empty.jsonl"),
      "--out",
      join(dir, "o"),
      "--tokenizer",
      "bytes",
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no usable document, nothing exported/);
    const f = await cli("data", "export", CORPUS, "--out", join(dir, "p"), "--format", "csv");
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--format expects one of parquet, got "csv"/);
  });
});
