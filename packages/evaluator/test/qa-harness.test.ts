// Harness scoring rules: target delimiter, few-shot joining, AC anchors, _encode_pair, left truncation,
// acc_norm by code points, BoolQ/WinoGrande rules, seeded order, and end-to-end scoring equalities.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findFewshotFile, loadTask, readTaskFile } from "../src/qa-data";
import { argmax, evaluateTask, scoreDoc } from "../src/qa-eval";
import {
  appendContext,
  docRequests,
  encodeRequest,
  fewshotContext,
  prepareDocs,
} from "../src/qa-prompts";
import { scoreCached, scoreRecompute } from "../src/qa-scoring";
import { runQaEval } from "../src/qa-suite";
import type { QaDoc } from "../src/qa-tasks";
import { VisibleCountScorer } from "../src/visible-count-scorer";
import { AC_ID, charTokenizer } from "./helpers";

const fx = (p: string) => join(import.meta.dirname, "fixtures", p);
const doc = (text: string, choices: string[], gold: number): QaDoc => ({
  id: text,
  text,
  target: ` ${choices[gold]}`,
  choices,
  gold,
  kind: "multiple-choice",
});

describe("prompt construction", () => {
  const a = doc("Q: 1+1\nA:", ["2", "3"], 0);
  const b = doc("Q: 2+2\nA:", ["5", "4"], 1);
  const q = doc("Q: 3+3\nA:", ["6", "7"], 0);

  it("joins demonstrations with \\n\\n and the target delimiter ' '", () => {
    expect(fewshotContext(q, [], { numFewshot: 0 })).toBe("Q: 3+3\nA:");
    expect(fewshotContext(q, [a, b], { numFewshot: 2 })).toBe(
      "Q: 1+1\nA: 2\n\nQ: 2+2\nA: 4\n\nQ: 3+3\nA:",
    );
    expect(docRequests(q, "ctx", { numFewshot: 0 })).toEqual([
      { context: "ctx", continuation: " 6" },
      { context: "ctx", continuation: " 7" },
    ]);
  });

  it("appends the AC anchor to each demonstration (and only there)", () => {
    const ctx = fewshotContext(q, [a, b], { numFewshot: 2, demoAnchorText: "<AC>" });
    expect(ctx).toBe("Q: 1+1\nA: 2<AC>\n\nQ: 2+2\nA: 4<AC>\n\nQ: 3+3\nA:");
    expect(Array.from(charTokenizer.encode(ctx)).filter((t) => t === AC_ID)).toHaveLength(2);
  });

  it("WinoGrande: few-shot context's last piece is replaced by each partial context", async () => {
    expect(appendContext("d1\n\nd2\n\nmine", "opt")).toBe("d1\n\nd2\n\nopt");
    expect(appendContext("mine", "opt")).toBe("opt");
    const [dev, train] = await Promise.all([
      readTaskFile("winogrande", fx("winogrande/dev.jsonl")),
      readTaskFile("winogrande", fx("winogrande/train_xs.jsonl")),
    ]);
    const ctx = fewshotContext(dev[1]!, [train[0]!], { numFewshot: 1 });
    expect(ctx).toBe(
      "The box did not fit in the car because the box was too big.\n\nAnn lent Beth a pen because Beth",
    );
    expect(docRequests(dev[1]!, ctx, { numFewshot: 1 })).toEqual([
      {
        context:
          "The box did not fit in the car because the box was too big.\n\nAnn lent Beth a pen because Ann",
        continuation: " had forgotten hers.",
      },
      {
        context:
          "The box did not fit in the car because the box was too big.\n\nAnn lent Beth a pen because Beth",
        continuation: " had forgotten hers.",
      },
    ]);
  });

  it("shuffles documents and samples shots like Python's Random(42)", () => {
    const docs = [0, 1, 2, 3, 4].map((i) => doc(`d${i}`, ["x", "y"], 0));
    const train = [0, 1, 2, 3, 4, 5].map((i) => doc(`t${i}`, ["x", "y"], 0));
    // Python: r = Random(42); r.shuffle(docs) -> [3,1,2,4,0]; then r.sample(train, 2) per doc
    const p = prepareDocs(docs, train, { numFewshot: 2 });
    expect(p.map((x) => x.index)).toEqual([3, 1, 2, 4, 0]);
    const shots = [
      [1, 5],
      [1, 0],
      [5, 4],
      [0, 4],
      [3, 0],
    ];
    p.forEach((x, i) => {
      const want = `${shots[i]!.map((s) => `t${s} x`).join("\n\n")}\n\nd${x.index}`;
      expect(x.requests[0]!.context).toBe(want);
    });
    // no training docs: sample k+1 from the eval docs, drop the document itself
    const q = prepareDocs(docs, undefined, { numFewshot: 2 });
    const selfShots = [
      [1, 4],
      [0, 4],
      [3, 0],
      [0, 1],
      [4, 2],
    ];
    q.forEach((x, i) => {
      expect(
        x.requests[0]!.context.startsWith(`d${selfShots[i]![0]} x\n\nd${selfShots[i]![1]} x`),
      ).toBe(true);
    });
    expect(prepareDocs(docs, train, { numFewshot: 0, limit: 2 }).map((x) => x.index)).toEqual([
      3, 1,
    ]);
  });
});

describe("encoding and truncation", () => {
  it("_encode_pair moves trailing context whitespace into the continuation", () => {
    const r = encodeRequest(
      charTokenizer,
      { context: "ab ", continuation: "c" },
      { maxLength: 100 },
    );
    expect([...r.context]).toEqual([97, 98]);
    expect([...r.continuation]).toEqual([32, 99]);
  });

  it("empty context becomes [EOT]; BOS is optional", () => {
    const e = encodeRequest(charTokenizer, { context: "", continuation: " x" }, { maxLength: 100 });
    expect([...e.context]).toEqual([charTokenizer.eosId]);
    const b = encodeRequest(
      charTokenizer,
      { context: "a", continuation: " x" },
      { maxLength: 100, bos: true },
    );
    expect([...b.context]).toEqual([1, 97]);
  });

  it("left-truncates to the last max_length + 1 tokens", () => {
    const r = encodeRequest(
      charTokenizer,
      { context: "abcdef", continuation: " xy" },
      { maxLength: 5 },
    );
    expect([...r.context, ...r.continuation]).toEqual([100, 101, 102, 32, 120, 121]);
    expect(r.truncated).toBe(3);
    expect(() =>
      encodeRequest(charTokenizer, { context: "a", continuation: " xyz" }, { maxLength: 3 }),
    ).toThrow(/exceeds/);
  });
});

describe("metrics", () => {
  it("acc_norm divides by code points, not UTF-16 units or tokens", () => {
    const d = doc("q", ["\u{1F916}\u{1F916}", "abc"], 1);
    // acc: argmax(-3, -4) = 0; acc_norm: -3/2 = -1.5 < -4/3 -> 1 (UTF-16 length 4 would give 0)
    expect(scoreDoc(d, [-3, -4])).toEqual({ pred: 0, acc: 0, accNorm: 1 });
  });
  it("argmax takes the first maximum; BoolQ ties predict 'no'", () => {
    expect(argmax([1, 3, 3])).toBe(1);
    const bq: QaDoc = {
      id: "b",
      text: "t",
      target: " yes",
      choices: ["yes", "no"],
      gold: 0,
      kind: "boolq",
    };
    expect(scoreDoc(bq, [-1, -1]).acc).toBe(0);
    expect(scoreDoc(bq, [-0.5, -1]).acc).toBe(1);
    expect(scoreDoc(bq, [-0.5, -1]).accNorm).toBeUndefined();
  });
});

describe("scoring with the reference model", () => {
  const scorer = new VisibleCountScorer({ vocabSize: 256, maxLength: 512 });
  const PERIOD = 46;

  it("continuation log-likelihoods equal a hand computation", async () => {
    // context "ab", continuation " a": p(' '|{a,b}) = 1/258, p(a|{a,b,' '}) = 2/259
    const req = encodeRequest(
      charTokenizer,
      { context: "ab", continuation: " a" },
      { maxLength: 512 },
    );
    const [r] = await scoreRecompute(scorer, [req], "causal", []);
    expect(r!.ll).toBeCloseTo(Math.log(1 / 258) + Math.log(2 / 259), 12);
    const [c] = await scoreCached(scorer, [req], "full", []);
    expect(c!.ll).toBeCloseTo(r!.ll, 12);
  });

  it("anchor-cache scoring equals anchor-mask scoring on every fixture task, chunked or not", async () => {
    const tasks = ["openbookqa", "hellaswag", "winogrande", "boolq", "sciq"] as const;
    const files = {
      openbookqa: "openbookqa/test.jsonl",
      hellaswag: "hellaswag/hellaswag_val.jsonl",
      winogrande: "winogrande/dev.jsonl",
      boolq: "boolq/val.jsonl",
      sciq: "sciq/test.json",
    };
    for (const task of tasks) {
      const docs = await readTaskFile(task, fx(files[task]));
      for (const chunkSize of [undefined, 5]) {
        const r = await evaluateTask(scorer, charTokenizer, task, docs, undefined, {
          numFewshot: 1,
          attention: "anchor",
          anchorIds: [PERIOD],
          chunkSize,
          verifyMask: true,
        });
        expect(r.maskCheck!.maxAbsDiff).toBeLessThan(1e-9);
        expect(r.maskCheck!.predictionAgreement).toBe(1);
        const sp = r.speed!;
        expect(sp.tNoCache).toBeCloseTo(sp.noCacheMs / sp.anchorCacheMs, 9);
      }
    }
  });

  it("inference 'mask' (masked forwards) gives the same log-likelihoods as the anchor cache", async () => {
    const docs = await readTaskFile("sciq", fx("sciq/test.json"));
    const opts = {
      numFewshot: 1,
      attention: "anchor" as const,
      anchorIds: [PERIOD],
      measureSpeed: false,
    };
    const mask = await evaluateTask(scorer, charTokenizer, "sciq", docs, undefined, {
      ...opts,
      inference: "mask",
    });
    const cache = await evaluateTask(scorer, charTokenizer, "sciq", docs, undefined, opts);
    expect(mask.inference).toBe("mask");
    expect(mask.cache).toBeUndefined();
    expect(cache.speed).toBeUndefined();
    mask.docs.forEach((d, i) => {
      d.lls.forEach((ll, k) => {
        expect(ll).toBeCloseTo(cache.docs[i]!.lls[k]!, 9);
      });
    });
  });

  it("anchor cache keeps fewer entries than the full prompt; full attention has no cache report", async () => {
    const { docs, trainDocs } = await loadTask("openbookqa", {
      eval: fx("openbookqa/test.jsonl"),
      train: fx("openbookqa/train.jsonl"),
    });
    const anchored = await evaluateTask(scorer, charTokenizer, "openbookqa", docs, trainDocs, {
      numFewshot: 2,
      attention: "anchor",
      anchorIds: [AC_ID],
      demoAnchorText: "<AC>",
      chunkSize: 8,
    });
    expect(anchored.cache!.C).toBeGreaterThan(0.3);
    expect(anchored.speed!.docs).toBe(3);
    const sampled = await evaluateTask(scorer, charTokenizer, "openbookqa", docs, trainDocs, {
      numFewshot: 2,
      attention: "anchor",
      anchorIds: [AC_ID],
      demoAnchorText: "<AC>",
      speedDocs: 1,
    });
    expect(sampled.speed!.docs).toBe(1);
    expect(sampled.speed!.anchorCacheMs).toBeLessThanOrEqual(sampled.timeMs);
    expect(anchored.cache!.meanPeakEntries).toBeLessThan(anchored.cache!.meanFullEntries);
    const full = await evaluateTask(scorer, charTokenizer, "openbookqa", docs, trainDocs, {
      numFewshot: 2,
      attention: "full",
    });
    expect(full.cache).toBeUndefined();
    expect(full.inference).toBe("recompute");
    expect(full.n).toBe(3);
  });

  it("k-shot draws demonstrations from the training split only: refused without it", async () => {
    const eval_ = { eval: fx("openbookqa/test.jsonl") };
    await expect(
      runQaEval({
        scorer,
        tokenizer: charTokenizer,
        numFewshot: 1,
        attention: "full",
        tasks: { openbookqa: eval_, boolq: { eval: fx("boolq/val.jsonl") } },
      }),
    ).rejects.toThrow(
      /1-shot needs each task's training split .* none given for openbookqa, boolq/,
    );
    // the public releases' training files are found in a folder of the tasks' files
    const dir = join(import.meta.dirname, "fixtures");
    expect(findFewshotFile(dir, "openbookqa")).toBe(fx("openbookqa/train.jsonl"));
    expect(findFewshotFile(dir, "boolq")).toBe(fx("boolq/train.jsonl"));
    expect(findFewshotFile(dir, "sciq")).toBeUndefined();
    const out = await runQaEval({
      scorer,
      tokenizer: charTokenizer,
      numFewshot: 1,
      attention: "full",
      tasks: { openbookqa: { ...eval_, train: fx("openbookqa/train.jsonl") } },
    });
    expect(out.results[0]!.n).toBeGreaterThan(0);
    // every context starts with a training document's question and answer
    const train = await readTaskFile("openbookqa", fx("openbookqa/train.jsonl"));
    const prepared = prepareDocs(await readTaskFile("openbookqa", eval_.eval), train, {
      numFewshot: 1,
    });
    for (const p of prepared) {
      const ctx = p.requests[0]!.context;
      expect(train.some((t) => ctx.startsWith(`${t.text}${t.target}\n\n`))).toBe(true);
    }
  });

  it("runQaEval averages the tasks", async () => {
    const out = await runQaEval({
      scorer,
      tokenizer: charTokenizer,
      numFewshot: 0,
      attention: "full",
      tasks: { piqa: { eval: fx("piqa/dev.jsonl") }, boolq: { eval: fx("boolq/val.jsonl") } },
    });
    expect(out.results.map((r) => r.task)).toEqual(["piqa", "boolq"]);
    const [p, b] = out.results;
    expect(out.average.acc).toBeCloseTo((p!.acc.mean + b!.acc.mean) / 2, 12);
    expect(out.average.accNormOrAcc).toBeCloseTo((p!.accNorm!.mean + b!.acc.mean) / 2, 12);
    expect(b!.accNorm).toBeUndefined();
  });
});
