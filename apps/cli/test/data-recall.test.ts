// `anllm data recall`: the recall task's training documents are seeded (same seed, same bytes) and
// every fact is a sentence for the training loader, so an AnLLM-AC model gets one anchor per fact
// (the first version's lowercase keys made a whole document one sentence, with no anchor inside).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AnyJson, cli, cliJson } from "./helpers";

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
      expect((JSON.parse(line) as { text: string }).text).toMatch(
        /^( ([A-Z][a-z]\d{2}) \2\.){12}$/,
      );
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
    // the recall tokenizer written beside the documents: BOS + five tokens a fact
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
    expect(withTokenizer.keyIds).toBe("100-775");
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
    expect(byKey.tokens).toBe(30 * (1 + 5 * 12));
  });

  it("--layout mqar and repeat: facts then all restated; keys then the same keys; bad names exit 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anllm-recall-layout-"));
    const args = ["--documents", "10", "--sentences", "6", "--seed", "3"];
    const mqar = await cliJson<AnyJson>(
      "data",
      "recall",
      "--out",
      join(dir, "m.jsonl"),
      ...args,
      "--layout",
      "mqar",
    );
    expect(mqar.layout).toBe("mqar");
    for (const line of readFileSync(join(dir, "m.jsonl"), "utf8").trim().split("\n")) {
      const { text, meta } = JSON.parse(line) as { text: string; meta: { layout: string } };
      expect(meta.layout).toBe("mqar");
      const facts = text.match(/ ([A-Z][a-z]\d{2}) \1\./g) ?? [];
      expect(facts).toHaveLength(12);
      expect(facts.slice(6).sort()).toEqual(facts.slice(0, 6).sort());
    }
    await cliJson<AnyJson>(
      "data",
      "recall",
      "--out",
      join(dir, "r.jsonl"),
      ...args,
      "--layout",
      "repeat",
    );
    for (const line of readFileSync(join(dir, "r.jsonl"), "utf8").trim().split("\n")) {
      const { text } = JSON.parse(line) as { text: string };
      expect(text).toMatch(/^( [A-Z][a-z]){12}$/);
      expect(text.slice(18)).toBe(text.slice(0, 18));
    }
    const bad = await cli("data", "recall", "--out", join(dir, "x.jsonl"), "--layout", "zigzag");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--layout expects one of facts\|mqar\|repeat, got "zigzag"/);
  });
});
