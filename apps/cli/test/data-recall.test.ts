// `anllm data recall`: the recall task's training documents are seeded (same seed, same bytes) and
// every fact is a sentence for the training loader, so an AnLLM-AC model gets one anchor per fact
// (the first version's lowercase keys made a whole document one sentence, with no anchor inside).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AnyJson, cliJson } from "./helpers";

describe("anllm data recall", () => {
  it("writes the same documents for a seed, with one AC anchor per fact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anllm-recall-"));
    const args = ["--documents", "30", "--sentences", "12", "--max-run", "3"];
    const write = async (name: string, seed: string) => {
      const out = join(dir, name);
      const r = await cliJson<AnyJson>("data", "recall", "--out", out, ...args, "--seed", seed);
      return { r, text: readFileSync(out, "utf8") };
    };
    const a = await write("a.jsonl", "5");
    const b = await write("b.jsonl", "5");
    const c = await write("c.jsonl", "6");
    expect(a.r).toMatchObject({ documents: 30, sentences: 12, maxRun: 3, seed: 5 });
    expect(a.text).toBe(b.text);
    expect(a.text).not.toBe(c.text);
    const docs = a.text.trim().split("\n");
    expect(docs).toHaveLength(30);
    for (const line of docs)
      expect((JSON.parse(line) as { text: string }).text).toMatch(/^( [A-Z][a-z]\d{2}\.){12}$/);
    // the loader's AC anchors: one after each of the 12 facts of every document
    const inspect = await cliJson<AnyJson>(
      "data",
      "inspect",
      join(dir, "a.jsonl"),
      "--tokenizer",
      "bytes",
      "--anchor",
      "ac",
    );
    expect(inspect.documents).toBe(30);
    expect(inspect.anchors).toBe(30 * 12);
    // the recall tokenizer written beside the documents: BOS + three tokens a fact
    const tokenizer = join(dir, "recall-tokenizer.json");
    const withTokenizer = await cliJson<AnyJson>(
      "data",
      "recall",
      "--out",
      join(dir, "d.jsonl"),
      ...args,
      "--seed",
      "5",
      "--tokenizer-out",
      tokenizer,
    );
    expect(readFileSync(join(dir, "d.jsonl"), "utf8")).toBe(a.text);
    expect(withTokenizer.valueIds).toBe("776-865");
    const byKey = await cliJson<AnyJson>(
      "data",
      "inspect",
      join(dir, "d.jsonl"),
      "--tokenizer",
      tokenizer,
      "--anchor",
      "none",
    );
    expect(byKey.tokens).toBe(30 * (1 + 3 * 12));
  });
});
