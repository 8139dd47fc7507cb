// Results that must never be silent nonsense or lost: a non-finite perplexity is an error, token
// files with ids outside the model's vocabulary are refused by file and byte offset, and a report
// folder that cannot be created fails at once with the reason.
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { OutputPathError } from "@anllm/tensor/io";
import { describe, expect, it } from "vitest";
import { DataFormatError, NonFiniteScoreError } from "../src/errors";
import { evaluatePerplexity } from "../src/perplexity";
import { writeReport } from "../src/report";
import { type ForwardOptions, type Scorer, type TokenLogprobs, tailSum } from "../src/scorer";
import { loadEvalTokens, tokenizeDocuments } from "../src/token-file";
import { VisibleCountScorer } from "../src/visible-count-scorer";

/** The reference scorer with one log-prob replaced by `bad` (as NaN weights would produce). */
function poisoned(bad: number): Scorer {
  const inner = new VisibleCountScorer({ vocabSize: 3 });
  return {
    name: "poisoned",
    maxLength: inner.maxLength,
    async scoreSequences(seqs: readonly Int32Array[], opts: ForwardOptions) {
      const out: TokenLogprobs[] = await inner.scoreSequences(seqs, opts);
      out[0]!.logprobs[0] = bad;
      return out;
    },
    scoreContinuations: (c, k, o) => inner.scoreContinuations(c, k, o),
    generate: (p, o) => inner.generate(p, o),
  };
}

describe("non-finite perplexity", () => {
  it("is an error naming the length and attention, never a NaN in the report", async () => {
    const data = [0, 1, 1, 2, 0, 0, 1, 2, 1, 0];
    for (const bad of [Number.NaN, Number.NEGATIVE_INFINITY]) {
      const run = evaluatePerplexity(poisoned(bad), data, {
        lengths: [3],
        stride: 2,
        attention: "anchor",
      });
      await expect(run).rejects.toThrow(NonFiniteScoreError);
      await expect(run).rejects.toThrow(
        /^perplexity at length 3 \(anchor attention\) is (NaN|Infinity)/,
      );
    }
    const ok = await evaluatePerplexity(poisoned(-1), data, { lengths: [3], stride: 2 });
    expect(Number.isFinite(ok[0]!.ppl)).toBe(true);
  });
});

describe("token files", () => {
  it("refuses ids outside the vocabulary with the file and byte offset", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eval-rel-"));
    const path = join(dir, "ids.bin");
    const ids = Uint16Array.from([1, 5, 7, 300, 2, 65535]);
    await writeFile(path, Buffer.from(ids.buffer));
    const err = await loadEvalTokens(path, undefined, { vocabSize: 260 }).catch((e) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as Error).message).toBe(
      `${path}: token id 300 at byte offset 6 (token 3) is outside the model's vocabulary of 260 ids (2 such ids in the file); was the file made with another tokenizer?`,
    );
    const ok = await loadEvalTokens(path, undefined, { vocabSize: 65536 });
    expect([...ok.ids]).toEqual([...ids]);
  });
});

describe("writeReport", () => {
  it("fails at once with the reason where the folder cannot be created", async () => {
    const t0 = Date.now();
    const err = await writeReport("/proc/anllm-x/report", { meta: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(OutputPathError);
    expect((err as Error).message).toMatch(/does not allow new entries \(ENOENT\)/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("QA log-likelihoods", () => {
  it("a NaN continuation score is an error, not a silent wrong answer", () => {
    const scores = (lp: number[]) => ({
      logprobs: Float64Array.from(lp),
      greedy: new Uint8Array(lp.length).fill(1),
    });
    expect(tailSum(scores([-1, -2, -3]), 2)).toEqual({ ll: -5, greedy: true });
    expect(() => tailSum(scores([-1, Number.NaN, -3]), 2)).toThrow(NonFiniteScoreError);
    expect(() => tailSum(scores([-1, Number.NaN, -3]), 2)).toThrow(/log-likelihood is NaN/);
  });
});

describe("tokenizeDocuments on bad files", () => {
  const tok = {
    encode: (t: string) => Array.from(t, (ch) => ch.charCodeAt(0) % 100),
    bosId: 1,
    eosId: 2,
  };

  it("skips over-long lines with their line number, in bounded memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eval-tok-"));
    const f = join(dir, "d.jsonl");
    await writeFile(
      f,
      `{"text": "ab"}\n{"text": "${"x".repeat(5000)}"}\r\n{"text": "cd"}\r\n{"text": "${"y".repeat(3000)}"}`,
    );
    const rep = await tokenizeDocuments(f, tok, { maxLineBytes: 1000 });
    expect(rep.documents).toBe(2);
    expect(rep.skipped).toEqual([
      { line: 2, reason: "line longer than 1000 bytes" },
      { line: 4, reason: "line longer than 1000 bytes" },
    ]);
    expect([...rep.ids]).toEqual([1, 97, 98, 1, 99, 0]);
  });

  it("refuses a corrupt or cut .jsonl.gz naming the file, with no partial result", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eval-tok-"));
    const body = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ text: `doc ${i}` })).join(
      "\n",
    );
    const good = gzipSync(body);
    const crc = Buffer.from(good);
    crc[crc.length - 6]! ^= 0xff;
    for (const [name, bytes] of [
      ["crc.jsonl.gz", crc],
      ["cut.jsonl.gz", good.subarray(0, good.length - 50)],
    ] as const) {
      const f = join(dir, name);
      await writeFile(f, bytes);
      const err = await tokenizeDocuments(f, tok).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DataFormatError);
      expect((err as Error).message, name).toMatch(
        new RegExp(
          `^${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: compressed data is corrupt or cut short`,
        ),
      );
    }
    const ok = await tokenizeDocuments(join(dir, "ok.jsonl.gz"), tok).catch(() => null);
    expect(ok).toBeNull(); // missing file: an error, not an empty result
    await writeFile(join(dir, "ok.jsonl.gz"), good);
    expect((await tokenizeDocuments(join(dir, "ok.jsonl.gz"), tok)).documents).toBe(5000);
  });

  it("refuses a FIFO instead of blocking", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eval-tok-"));
    const fifo = join(dir, "p.jsonl");
    execFileSync("mkfifo", [fifo]);
    await expect(tokenizeDocuments(fifo, tok)).rejects.toThrow(`${fifo}: is not a regular file`);
  });
});
