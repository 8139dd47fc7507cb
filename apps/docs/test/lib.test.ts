// Unit tests of the docs site's own code: the illustrative tokenizer, the mask/cache view built on
// @anllm/anchor-mask, the results data loader and the Markdown/CLI-help helpers of the build.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tokenizeAc, tokenizeEp } from "../lib/illustrative-tokenizer";
import { checkLinks } from "../lib/link-check";
import { llama2Ac, llama2Ep, loadLlama2, splitSentencesSimple } from "../lib/llama2-tokens";
import { maskView, viewOfFlags } from "../lib/mask-model";
import { buildCharts, cacheTable, lossCurve, parseDataFile } from "../lib/results";
import { uniqueHeadingIds, vueSafeMarkdown } from "../scripts/gen-api";
import { listedCommands, subcommandsOf } from "../scripts/gen-cli";
import { GOLDEN_ANCHORS, GOLDEN_LABELS, GOLDEN_MASK, rowsOf, ruleMask } from "./golden";

const GOLDEN_TEXT = "Hi there. Ok. I see. Yes";

describe("illustrative tokenizer", () => {
  it("splits words and punctuation, keeping leading spaces as ▁, with Llama-2 ids for endpoints", () => {
    const toks = tokenizeEp(GOLDEN_TEXT);
    expect(toks.map((t) => t.text)).toEqual([
      "<s>",
      "Hi",
      "▁there",
      ".",
      "▁Ok",
      ".",
      "▁I",
      "▁see",
      ".",
      "▁Yes",
    ]);
    expect(toks[0]!.id).toBe(1);
    expect(toks[3]!.id).toBe(29889);
  });
  it('gives " ." (after a space) a different id than "." as Llama-2 does', () => {
    const toks = tokenizeEp("a . b.");
    expect(toks.map((t) => t.text)).toEqual(["<s>", "a", "▁.", "▁b", "."]);
    expect(toks[2]!.id).not.toBe(29889);
    expect(toks[4]!.id).toBe(29889);
  });
  it("appends <AC> after every sentence, or only between sentences", () => {
    const after = tokenizeAc(GOLDEN_TEXT, "after").map((t) => t.text);
    expect(after).toEqual([
      "<s>",
      "Hi",
      "▁there",
      ".",
      "<AC>",
      "▁Ok",
      ".",
      "<AC>",
      "▁I",
      "▁see",
      ".",
      "<AC>",
      "▁Yes",
      "<AC>",
    ]);
    const between = tokenizeAc(GOLDEN_TEXT, "between").map((t) => t.text);
    expect(between).toEqual([
      "<s>",
      "Hi",
      "▁there",
      ".",
      "<AC>",
      "▁Ok",
      ".",
      "<AC>",
      "▁I",
      "▁see",
      ".",
      "<AC>",
      "▁Yes",
    ]);
    expect(tokenizeAc("Pi is 3.5 or so.").filter((t) => t.text === "<AC>")).toHaveLength(1);
  });
});

describe("Llama-2 tokenization for the playground (llama-tokenizer-js)", () => {
  it("encodes the golden sentence to Llama-2 pieces with the real '.' id", async () => {
    const enc = await loadLlama2();
    const toks = llama2Ep(enc, GOLDEN_TEXT);
    expect(toks.map((t) => t.text)).toEqual([
      "<s>",
      "▁Hi",
      "▁there",
      ".",
      "▁Ok",
      ".",
      "▁I",
      "▁see",
      ".",
      "▁Yes",
    ]);
    expect(toks.filter((t) => t.id === 29889)).toHaveLength(3);
    const v = maskView({ kind: "ep", text: GOLDEN_TEXT, endpoints: ["."] }, enc);
    expect(rowsOf(v.mask, 10)).toEqual(GOLDEN_MASK);
  });
  it("AC: <AC> after each sentence; without the anchors it is the whole-text encoding", async () => {
    const enc = await loadLlama2();
    const text = "Dr. Smith arrived at 3.5 p.m. today. He sat down!";
    expect(splitSentencesSimple(text)).toEqual([
      "Dr.",
      " Smith arrived at 3.5 p.m. today.",
      " He sat down!",
    ]);
    const ac = llama2Ac(enc, GOLDEN_TEXT, "after");
    expect(ac.filter((t) => t.text === "<AC>")).toHaveLength(4);
    const without = ac.filter((t) => t.text !== "<AC>").map((t) => t.id);
    expect(without).toEqual(llama2Ep(enc, GOLDEN_TEXT).map((t) => t.id));
    expect(llama2Ac(enc, GOLDEN_TEXT, "between").filter((t) => t.text === "<AC>")).toHaveLength(3);
  });
});

describe("mask view (computed by @anllm/anchor-mask)", () => {
  it("reproduces the golden 10x10 example from anchor flags", () => {
    const isAnchor = Uint8Array.from(GOLDEN_LABELS, (_, i) => (GOLDEN_ANCHORS.includes(i) ? 1 : 0));
    const v = viewOfFlags(
      GOLDEN_LABELS.map((text, id) => ({ text, id })),
      isAnchor,
    );
    expect(rowsOf(v.mask, 10)).toEqual(GOLDEN_MASK);
    expect(Array.from(v.segmentIds)).toEqual([0, 0, 0, 0, 1, 1, 2, 2, 2, 3]);
    expect(Array.from(v.keptAfter[9]!)).toEqual([3, 5, 8, 9]);
    expect(Array.from(v.keptAfter[2]!)).toEqual([0, 1, 2]);
    expect(Array.from(v.keptAfter[3]!)).toEqual([3]);
    expect(v.peakCache).toBe(5);
  });
  it("EP on the golden sentence marks the glued periods and gives the golden mask", () => {
    const v = maskView({ kind: "ep", text: GOLDEN_TEXT, endpoints: ["."] });
    expect(Array.from(v.isAnchor)).toEqual([0, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    expect(rowsOf(v.mask, 10)).toEqual(GOLDEN_MASK);
  });
  it("AC marks only <AC> and matches the rule", () => {
    const v = maskView({ kind: "ac", text: GOLDEN_TEXT, placement: "after" });
    const n = v.tokens.length;
    expect(
      Array.from(v.isAnchor, (a, i) => (a === 1 ? v.tokens[i]!.text : "")).filter(Boolean),
    ).toEqual(["<AC>", "<AC>", "<AC>", "<AC>"]);
    expect(rowsOf(v.mask, n)).toEqual(ruleMask(Array.from(v.isAnchor)));
    expect(Array.from(v.keptAfter[n - 1]!)).toEqual([4, 7, 11, 13]);
  });
  it("EP with no endpoint selected degenerates to the causal mask", () => {
    const v = maskView({ kind: "ep", text: GOLDEN_TEXT, endpoints: [] });
    expect(rowsOf(v.mask, 10)).toEqual(ruleMask(new Array(10).fill(0)));
  });
});

describe("results data", () => {
  it("parses JSONL and names the file and line of bad JSON", () => {
    expect(
      parseDataFile("m.jsonl", '{"step":1,"loss":2}\n\n{"step":2,"loss":1.5}\n').content,
    ).toEqual([
      { step: 1, loss: 2 },
      { step: 2, loss: 1.5 },
    ]);
    expect(() => parseDataFile("m.jsonl", '{"step":1}\n{oops\n')).toThrow(/data\/m\.jsonl:2/);
  });
  it("draws a loss curve from metrics rows and records the command", () => {
    expect(lossCurve([{ step: 1, loss: 3 }, { note: "x" }, { step: 2, loss: 2 }])).toEqual([
      [1, 3],
      [2, 2],
    ]);
    const charts = buildCharts(
      [{ file: "run.jsonl", command: "pnpm anllm demo --json" }],
      [{ file: "run.jsonl", content: [{ step: 1, loss: 3 }] }],
    );
    expect(charts.map((c) => c.id)).toEqual(["loss"]);
    expect(charts[0]!.sources).toEqual([{ file: "run.jsonl", command: "pnpm anllm demo --json" }]);
  });
  it("tabulates eval-cache rows with their file and skips other files", () => {
    const row = { promptLength: 256, C: 0.6, meanPeakEntries: 110, meanFullEntries: 272 };
    const rows = cacheTable([
      { file: "eval-cache-ac.json", content: { rows: [{ ...row, tFullCache: 0.9, tNoCache: 4 }] } },
      { file: "eval-cache-ep.json", content: { rows: [{ ...row, tFullCache: 1.1 }, { x: 1 }] } },
      { file: "run.jsonl", content: [{ step: 1, loss: 3 }] },
      // the policy comparison's rows have their own table
      { file: "eval-policies-none.json", content: { policies: ["full"], rows: [{ ...row }] } },
    ]);
    expect(rows.map((r) => [r.model, r.reductionPct, r.speedupVsNoCache, r.source])).toEqual([
      ["eval-cache-ac", 60, 4, "eval-cache-ac.json"],
      ["eval-cache-ep", 60, null, "eval-cache-ep.json"],
    ]);
  });
});

describe("build helpers", () => {
  it("escapes raw < in prose for Vue, but not in code", () => {
    const md = vueSafeMarkdown('default "<AC>" and `<AC>`\n```ts\nlet a: Array<number>;\n```');
    expect(md).toContain('default "\\<AC>" and `<AC>`');
    expect(md).toContain("let a: Array<number>;");
    expect(md.startsWith("::: v-pre\n")).toBe(true);
  });
  it("gives every heading a unique explicit id, keeping typedoc's first ids", () => {
    const md =
      "###### message\n### A {#a}\n#### message {#message}\n#### message {#message}\n```\n# x\n```";
    expect(uniqueHeadingIds(md).split("\n")).toEqual([
      "###### message {#message-1}",
      "### A {#a}",
      "#### message {#message}",
      "#### message {#message-2}",
      "```",
      "# x",
      "```",
    ]);
  });
  it("lists the commands of a help text", () => {
    const help =
      "Usage: anllm <command>\n\nCommands:\n  demo       run it\n  eval ppl   perplexity\n\nRun more.\n";
    expect(listedCommands(help)).toEqual([["demo"], ["eval", "ppl"]]);
  });
  it("finds the subcommands a command's help names", () => {
    expect(subcommandsOf("Usage: anllm eval <ppl|qa|cache> --model DIR\n", "eval")).toEqual([
      "ppl",
      "qa",
      "cache",
    ]);
    expect(
      subcommandsOf("Usage: anllm data inspect [PATH]\n\nSubcommands: inspect. PATH ...\n", "data"),
    ).toEqual(["inspect"]);
    expect(subcommandsOf("Usage: anllm mask --text T\n", "mask")).toEqual([]);
  });
  it("finds dead internal links and missing fragments", () => {
    const dir = mkdtempSync(join(tmpdir(), "links-"));
    mkdirSync(join(dir, "guide"));
    writeFileSync(
      join(dir, "index.html"),
      '<a href="/guide/a.html#x">a</a><a href="/nope.html">b</a><a href="https://example.org">c</a>',
    );
    writeFileSync(
      join(dir, "guide", "a.html"),
      '<h1 id="x">A</h1><a href="./b.html">b</a><a href="../index.html#y">c</a>',
    );
    const r = checkLinks(dir);
    expect(r.pages).toBe(2);
    expect(r.links).toBe(4);
    expect(r.dead.map((d) => `${d.page} ${d.link}`).sort()).toEqual([
      "guide/a.html ../index.html#y",
      "guide/a.html ./b.html",
      "index.html /nope.html",
    ]);
  });
});
