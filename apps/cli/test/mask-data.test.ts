// `anllm mask`, `anllm data inspect`, top-level help and usage errors, in-process.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AnyJson, cli, cliJson, FIXTURES } from "./helpers";

describe("anllm (top level)", () => {
  it("prints help listing every command and exits 0", async () => {
    const r = await cli("--help");
    expect(r.code).toBe(0);
    for (const c of ["demo", "train", "generate", "eval", "data", "mask"])
      expect(r.stdout).toContain(c);
  });

  it("rejects an unknown command with exit code 2", async () => {
    const r = await cli("fly");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "fly"/);
  });
});

describe("anllm mask", () => {
  it("prints the EP mask of a sentence with the golden rule", async () => {
    const out = await cliJson<{
      pieces: string[];
      isAnchor: number[];
      segmentIds: number[];
      mask: string[];
    }>("mask", "--text", "ab. c. d", "--anchor", "ep", "--tokenizer", "bytes");
    // <s> a b . ␠ c . ␠ d : anchors are the two "."
    expect(out.pieces).toEqual(["<s>", "a", "b", ".", " ", "c", ".", " ", "d"]);
    expect(out.isAnchor).toEqual([0, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(out.segmentIds).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2]);
    expect(out.mask[3]).toBe("111100000"); // an anchor sees its own segment only
    expect(out.mask[6]).toBe("000011100"); // ... not the earlier anchor
    expect(out.mask[8]).toBe("000100111"); // a later token sees earlier anchors + its segment
  });

  it("AC inserts <AC> after each sentence and prints a labelled table", async () => {
    const r = await cli(
      "mask",
      "--text",
      "Hi there. Bye now.",
      "--anchor",
      "ac",
      "--tokenizer",
      "bytes",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/<AC>\*/);
    expect(r.stdout).toMatch(/2 anchors/);
    const j = await cliJson<{ isAnchor: number[]; tokens: number[] }>(
      "mask",
      "--text",
      "Hi there. Bye now.",
      "--anchor",
      "ac",
      "--tokenizer",
      "bytes",
    );
    expect(j.isAnchor.filter((x) => x === 1)).toHaveLength(2);
    expect(j.tokens.at(-1)).toBe(259);
  });

  it("uses the Llama-2 vocabulary by default (EP anchor = 29889)", async () => {
    const j = await cliJson<{ anchorIds: number[] }>("mask", "--text", "Hello world.");
    expect(j.anchorIds).toEqual([29889]);
  });

  it("rejects bad options with exit code 2 and a clear message", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["mask"], /--text is required/],
      [["mask", "--text", "x", "--anchor", "zz"], /--anchor expects one of none\|ep\|ac, got "zz"/],
      [["mask", "--text", "x", "--bogus"], /Unknown option '--bogus'/],
      [["mask", "--text", "x".repeat(80), "--tokenizer", "bytes"], /more than --max-tokens 48/],
      [["mask", "--text", "x", "--tokenizer", "/nope/tok.json"], /no such file/],
      [["mask", "--text", "x", "--anchor-ids", "1,a"], /comma-separated integers/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toMatch(/--help/);
    }
  });

  it("has --help", async () => {
    const r = await cli("mask", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: anllm mask/);
  });
});

describe("anllm data inspect", () => {
  it("counts documents, tokens and anchors of a corpus folder", async () => {
    const j = await cliJson<AnyJson>(
      "data",
      "inspect",
      join(FIXTURES, "corpus"),
      "--tokenizer",
      "bytes",
      "--anchor",
      "ep",
    );
    expect(j.documents).toBe(24);
    expect(j.files).toBe(2);
    expect(Object.keys(j.bySubset).sort()).toEqual(["book", "wikipedia"]);
    expect(j.bySubset.book.documents).toBe(16);
    expect(j.anchors).toBeGreaterThan(24 * 3 - 1);
    expect(j.tokens).toBeGreaterThan(j.characters);
    expect(j.skipped.total).toBe(0);
  });

  it("reports skipped records by reason with file and line", async () => {
    const j = await cliJson<AnyJson>(
      "data",
      "inspect",
      join(FIXTURES, "bad.jsonl"),
      "--tokenizer",
      "bytes",
    );
    expect(j.documents).toBe(2);
    expect(j.skipped.total).toBe(4);
    expect(j.skipped.byReason["malformed-json"]).toBe(1);
    expect(j.skipped.byReason["missing-text"]).toBe(1);
    expect(j.skipped.byReason["non-string-text"]).toBe(1);
    expect(j.skipped.byReason["not-an-object"]).toBe(1);
    expect(j.skipped.samples[0].line).toBe(2);
    const human = await cli("data", "inspect", join(FIXTURES, "bad.jsonl"), "--tokenizer", "bytes");
    expect(human.stdout).toMatch(/skipped records: 4/);
    expect(human.stdout).toMatch(/malformed-json\s+1/);
  });

  it("inspects the embedded corpus by default", async () => {
    const j = await cliJson<AnyJson>("data", "inspect", "--max-docs", "5", "--tokenizer", "bytes");
    expect(j.documents).toBe(5);
    expect(j.tokens).toBeGreaterThan(0);
  });

  it("rejects bad usage with exit code 2", async () => {
    expect((await cli("data", "explode")).code).toBe(2);
    expect((await cli("data", "inspect", "/no/such/path")).stderr).toMatch(/PATH not found/);
    expect((await cli("data", "inspect", "--max-docs", "-3")).code).toBe(2);
    expect((await cli("data", "inspect", "a", "b")).stderr).toMatch(/unexpected argument "b"/);
  });
});
