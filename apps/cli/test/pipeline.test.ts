// generate and eval (ppl, qa, cache) in-process on a tiny AC model trained once in beforeAll:
// JSON shapes, anchor vs full cache, and usage errors (exit code 2).

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type AnyJson, cli, cliJson, FIXTURES, TINY_TRAIN } from "./helpers";

process.env.ANLLM_DEVICE ??= "cpu";
let run = "";

beforeAll(async () => {
  run = join(mkdtempSync(join(tmpdir(), "anllm-pipe-")), "run");
  const r = await cli(
    "train",
    ...TINY_TRAIN,
    "--seq-len",
    "64",
    "--steps",
    "12",
    "--lr",
    "1e-2",
    "--out",
    run,
  );
  if (r.code !== 0) throw new Error(r.stderr);
});

describe("anllm generate", () => {
  it("prints tokens, text and cache stats; anchor cache keeps fewer entries than full", async () => {
    const prompt = "The cat walked to the barn. The dog found a box. The baker";
    const a = await cliJson<AnyJson>(
      "generate",
      "--model",
      run,
      "--prompt",
      prompt,
      "--max-new-tokens",
      "12",
      "--chunk-size",
      "8",
    );
    expect(a.tokens).toHaveLength(12);
    expect(typeof a.text).toBe("string");
    expect(a.prompt.tokens.filter((t: number) => t === 259)).toHaveLength(2); // <AC> after 2 sentences
    expect(a.cache.fullEntries).toBe(a.prompt.tokens.length + 11);
    expect(a.cache.peakEntries).toBeLessThan(a.cache.fullEntries);
    expect(a.cache.reduction).toBeGreaterThan(0.2);
    const f = await cliJson<AnyJson>(
      "generate",
      "--model",
      run,
      "--prompt",
      prompt,
      "--max-new-tokens",
      "12",
      "--attention",
      "full",
    );
    expect(f.cache.peakEntries).toBe(f.cache.fullEntries);
    expect(f.cache.reduction).toBe(0);
  });

  it("--dtype f16: f16 weights and K/V, half the cache bytes, the f32 run's greedy tokens", async () => {
    const argv = ["generate", "--model", run, "--prompt", "The cat sat. The dog", "--greedy"];
    const h = await cliJson<AnyJson>(...argv, "--max-new-tokens", "8", "--dtype", "f16");
    const f = await cliJson<AnyJson>(...argv, "--max-new-tokens", "8");
    expect(h.dtype).toBe("f16");
    expect(f.dtype).toBe("f32");
    expect(h.tokens).toEqual(f.tokens);
    expect(h.cache.peakEntries).toBe(f.cache.peakEntries);
    expect(h.cache.peakBytes * 2).toBe(f.cache.peakBytes);
    const bad = await cli(...argv, "--dtype", "f8");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--dtype expects one of f32\|f16/);
  });

  it("accepts --prompt-ids and seeded sampling is reproducible", async () => {
    const argv = [
      "generate",
      "--model",
      run,
      "--prompt-ids",
      "256,84,104,101",
      "--max-new-tokens",
      "6",
      "--temperature",
      "0.9",
      "--top-k",
      "5",
      "--seed",
      "7",
    ];
    const x = await cliJson<AnyJson>(...argv);
    const y = await cliJson<AnyJson>(...argv);
    expect(x.tokens).toEqual(y.tokens);
    expect(x.prompt.tokens).toEqual([256, 84, 104, 101]);
  });

  it("rejects bad options with exit code 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--prompt", "x"], /--model is required/],
      [["--model", run], /exactly one of --prompt/],
      [["--model", run, "--prompt", "x", "--prompt-ids", "1"], /exactly one of --prompt/],
      [
        ["--model", run, "--prompt", "x", "--attention", "sparse"],
        /--attention expects one of full\|anchor/,
      ],
      [["--model", run, "--prompt", "x", "--greedy", "--temperature", "1"], /exclude each other/],
      [["--model", run, "--prompt", "x", "--top-p", "2"], /--top-p expects a number in \[0, 1\]/],
      [
        ["--model", run, "--prompt-ids", "1,99999"],
        /--prompt-ids holds token id 99999, outside the model.s vocabulary \(ids 0\.\.259\)/,
      ],
      [["--model", "/no/model", "--prompt", "x"], /--model folder not found/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli("generate", ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
  });
});

describe("anllm eval", () => {
  it("ppl: full and anchor perplexity of held-out text", async () => {
    const ppl = (...extra: string[]) =>
      cliJson<AnyJson>(
        "eval",
        "ppl",
        "--model",
        run,
        "--data",
        join(FIXTURES, "corpus", "wikipedia_sample.jsonl"),
        "--lengths",
        "32",
        "--stride",
        "32",
        "--max-windows",
        "4",
        ...extra,
      );
    const j = await ppl();
    expect(j.full[0].windows).toBe(4);
    expect(j.full[0].ppl).toBeGreaterThan(1);
    expect(j.full[0].ppl).toBeLessThan(260);
    expect(j.anchor[0].ppl).toBeGreaterThan(1);
    expect(j.anchor[0].attention).toBe("anchor");
    // the same anchor options as generate: --anchor-ids changes which tokens are anchors
    const anchorPpl = async (ids: string) =>
      (await ppl("--attention", "anchor", "--anchor-ids", ids)).anchor[0].ppl as number;
    expect(await anchorPpl("46")).not.toBe(await anchorPpl("32"));
    expect(j.anchorsInData).toBeGreaterThan(0);
    expect(j.anchorWarning).toBeUndefined();
    // --plain-text: no <AC> in the scored text; anchor attention runs on the derived stream and
    // scores the same original tokens (the paper's protocol, comparable with a full-attention base)
    const plain = await ppl("--plain-text");
    expect(plain.plainText).toBe(true);
    expect(plain.anchorsInData).toBe(0);
    expect(plain.anchorStream.inserted).toBeGreaterThan(0);
    expect(plain.anchorStream.tokens).toBe(plain.tokens + plain.anchorStream.inserted);
    expect(plain.full[0].ppl).not.toBeCloseTo(j.full[0].ppl, 4);
  });

  it("ppl on a token file: an AC model is scored on a derived <AC> stream; other models get a warning", async () => {
    // a token file of byte ids has no <AC> (id 259)
    const dir = mkdtempSync(join(tmpdir(), "anllm-bin-"));
    const bin = join(dir, "ids.bin");
    const text = readFileSync(join(FIXTURES, "heldout.txt"), "utf8").slice(0, 600);
    const bytes = Uint16Array.from(Buffer.from(text, "latin1"));
    writeFileSync(bin, Buffer.from(Uint16Array.from([256, ...bytes]).buffer));
    const ppl = (...extra: string[]) =>
      cli(
        "eval",
        "ppl",
        "--model",
        run,
        "--data",
        bin,
        "--lengths",
        "32",
        "--stride",
        "32",
        "--max-windows",
        "2",
        "--json",
        ...extra,
      );
    const r = await ppl("--out", join(dir, "report"));
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.anchorsInData).toBe(0);
    expect(j.anchorWarning).toBeUndefined();
    expect(j.anchorStream).toMatchObject({ anchorId: 259, documents: 1, unalignedDocuments: 0 });
    expect(j.anchorStream.inserted).toBeGreaterThan(3);
    expect(j.anchorStream.tokens).toBe(bytes.length + 1 + j.anchorStream.inserted);
    expect(j.anchor[0].ppl).not.toBeCloseTo(j.full[0].ppl, 4);
    const raw = readFileSync(join(dir, "report", "ac-stream.bin"));
    const derived = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
    expect(Array.from(derived).filter((id) => id !== 259)).toEqual([256, ...bytes]);
    expect(JSON.parse(readFileSync(join(dir, "report", "ac-stream.json"), "utf8")).recipe).toMatch(
      /insert the anchor id after the token where each sentence ends/,
    );
    // an EP model whose anchor id never occurs: anchor attention is full attention, and it says so
    const ep = await ppl("--anchor", "ep", "--anchor-ids", "200");
    expect(ep.code).toBe(0);
    const e = JSON.parse(ep.stdout);
    expect(e.anchorWarning).toMatch(/none of the model's anchor ids \(200\) occurs in .*ids\.bin/);
    expect(ep.stderr).toMatch(/warning: none of the model's anchor ids/);
    expect(e.anchor[0].ppl).toBeCloseTo(e.full[0].ppl, 4);
  });

  it("qa: accuracy on a multiple-choice task file", async () => {
    const j = await cliJson<AnyJson>(
      "eval",
      "qa",
      "--model",
      run,
      "--task",
      `arc_easy=${join(FIXTURES, "arc-easy.jsonl")}`,
      "--attention",
      "anchor",
    );
    expect(j.results[0].task).toBe("arc_easy");
    expect(j.results[0].n).toBe(3);
    expect(j.results[0].acc.mean).toBeGreaterThanOrEqual(0);
    expect(j.results[0].acc.mean).toBeLessThanOrEqual(1);
    expect(j.average.tasks).toBe(1);
    // 2-shot: demonstrations from the training split (a file, or found in a folder by its public name)
    const dir = mkdtempSync(join(tmpdir(), "anllm-fewshot-"));
    mkdirSync(join(dir, "arc"));
    copyFileSync(join(FIXTURES, "arc-easy.jsonl"), join(dir, "arc", "ARC-Easy-Train.jsonl"));
    for (const source of [`arc_easy=${join(FIXTURES, "arc-easy.jsonl")}`, dir]) {
      const k = await cliJson<AnyJson>(
        "eval",
        "qa",
        "--model",
        run,
        "--task",
        `arc_easy=${join(FIXTURES, "arc-easy.jsonl")}`,
        "--shots",
        "2",
        "--fewshot-data",
        source,
        "--attention",
        "full",
      );
      expect(k.numFewshot).toBe(2);
      expect(k.results[0].n).toBe(3);
    }
  });

  it("qa --policy: accuracy through each cache policy on a task file; full equals the plain run", async () => {
    const task = `arc_easy=${join(FIXTURES, "arc-easy-long.jsonl")}`;
    const qa = async (...extra: string[]) => {
      const out = mkdtempSync(join(tmpdir(), "anllm-qa-policy-"));
      const argv = ["eval", "qa", "--model", run, "--task", task, "--log-samples", ...extra];
      const j = await cliJson<AnyJson>(...argv, "--out", out);
      // --log-samples: the documents in the output and in the report
      const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
      const docs = j.results[0].docs as AnyJson[];
      expect(report.qa[0].result.results[0].docs).toEqual(docs);
      expect(docs).toHaveLength(6);
      return { j, docs };
    };
    // the plain run: full attention recomputed for every request, no cache
    const plain = await qa("--attention", "full");
    expect(plain.j.results[0].inference).toBe("recompute");
    expect(plain.j.results[0].policy).toBeUndefined();
    expect(plain.j.results[0].n).toBe(6);
    expect(plain.j.results[0].truncatedRequests).toBe(0);
    const policies = [
      "full",
      "anchor",
      "sink:sink=4,window=24",
      "sepllm:initial=4,window=24,budget=40",
      "h2o:budget=40,recent=16",
    ];
    const got: Record<string, { j: AnyJson; docs: AnyJson[] }> = {};
    for (const spec of policies) {
      got[spec] = await qa("--policy", spec, "--chunk-size", "16", "--no-speed");
      const r = got[spec].j.results[0];
      expect(r.task, spec).toBe("arc_easy");
      expect(r.n, spec).toBe(6);
      expect(r.inference, spec).toBe("cache");
      expect(r.policy, spec).toBe(spec.split(":")[0]);
      for (const m of [r.acc, r.accNorm]) {
        expect(m.mean, spec).toBeGreaterThanOrEqual(0);
        expect(m.mean, spec).toBeLessThanOrEqual(1);
        expect(m.stderr, spec).toBeGreaterThanOrEqual(0);
      }
      // the mean is the documents' own accuracies
      const docs = got[spec].docs;
      expect(r.acc.mean, spec).toBeCloseTo(docs.reduce((a, d) => a + d.acc, 0) / 6, 12);
      expect(got[spec].j.average.tasks).toBe(1);
      expect(r.truncatedRequests, spec).toBe(0);
      expect(r.cache.meanFullEntries, spec).toBeGreaterThan(120); // long contexts: the policies bite
    }
    // full through the cache, chunk by chunk, is the plain run: same log-likelihoods and accuracy
    const full = got.full!;
    expect(full.j.results[0].acc).toEqual(plain.j.results[0].acc);
    expect(full.j.results[0].accNorm).toEqual(plain.j.results[0].accNorm);
    full.docs.forEach((d, i) => {
      const want = plain.docs[i]!;
      expect(d.pred).toBe(want.pred);
      d.lls.forEach((ll: number, k: number) => {
        expect(Math.abs(ll - want.lls[k]), `doc ${i} choice ${k}`).toBeLessThan(
          1e-3 * Math.max(1, Math.abs(want.lls[k])),
        );
      });
    });
    expect(full.j.results[0].cache.C).toBe(0);
    // the bounded policies hold at most their budget plus one chunk, far below the full cache
    for (const [spec, bound] of [
      ["sink:sink=4,window=24", 28],
      ["sepllm:initial=4,window=24,budget=40", 40],
      ["h2o:budget=40,recent=16", 40],
    ] as const) {
      const cache = got[spec]!.j.results[0].cache;
      // (one chunk: a prefill chunk of 16, or a continuation of up to 20 tokens)
      expect(cache.meanPeakEntries, spec).toBeLessThanOrEqual(bound + 20);
      expect(cache.C, spec).toBeGreaterThan(0.5);
      // what they forget changes the scores
      const lls = got[spec]!.docs.flatMap((d) => d.lls);
      expect(lls, spec).not.toEqual(full.docs.flatMap((d) => d.lls));
    }
    expect(got.anchor!.j.results[0].cache.C).toBeGreaterThan(0);
  });

  it("cache: reduction and speed-up on long prompts", async () => {
    const j = await cliJson<AnyJson>(
      "eval",
      "cache",
      "--model",
      run,
      "--data",
      join(FIXTURES, "corpus"),
      "--prompt-lengths",
      "160",
      "--max-new-tokens",
      "4",
      "--no-cache-baseline",
    );
    const row = j.rows[0];
    expect(row.promptLength).toBe(160);
    expect(row.C).toBeGreaterThan(0.2);
    expect(row.tFullCache).toBeCloseTo(row.fullCacheMs / row.anchorMs, 9);
    expect(row.tNoCache).toBeUndefined(); // --no-cache-baseline
  });

  it("rejects bad usage with exit code 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["bogus"], /unknown subcommand "bogus"/],
      [["ppl"], /--model is required/],
      [["ppl", "--model", run, "--lengths", "1"], /--lengths expects lengths >= 2/],
      [
        ["ppl", "--model", run, "--attention", "half"],
        /--attention expects one of full\|anchor\|both/,
      ],
      [["ppl", "--model", run, "--data", "/nope.txt"], /--data not found/],
      [
        ["ppl", "--model", run, "--anchor-ids", "5,4000"],
        /--anchor-ids holds token id 4000, outside the model's vocabulary/,
      ],
      [["cache", "--model", run, "--anchor", "xy"], /--anchor expects one of none\|ep\|ac/],
      [["qa", "--model", run], /--task NAME=FILE is required/],
      [["qa", "--model", run, "--task", "trivia=x.jsonl"], /--task expects NAME=FILE/],
      [["qa", "--model", run, "--task", "arc_easy=/nope.jsonl"], /file not found/],
      [
        [
          "qa",
          "--model",
          run,
          "--task",
          `arc_easy=${join(FIXTURES, "arc-easy.jsonl")}`,
          "--shots",
          "1",
        ],
        /--shots 1 draws demonstrations from each task's training split .* none for arc_easy: pass --fewshot-data/,
      ],
      [
        [
          "qa",
          "--model",
          run,
          "--task",
          `arc_easy=${join(FIXTURES, "arc-easy.jsonl")}`,
          "--fewshot-data",
          `piqa=${join(FIXTURES, "arc-easy.jsonl")}`,
        ],
        /--fewshot-data names piqa, which no --task scores/,
      ],
      [
        ["cache", "--model", run, "--max-new-tokens", "0"],
        /--max-new-tokens expects an integer >= 1/,
      ],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli("eval", ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
    expect((await cli("eval", "--help")).stdout).toMatch(/ppl {2,}perplexity/);
    expect((await cli("eval", "qa", "--help")).code).toBe(0);
  });
});
