// Worker threads (this thread tokenising too) give exactly the inline batches and bad-input
// report in every layout, resume across them, and idle workers are reused by later loaders,
// also after an early stop and with another tokenizer.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Batch,
  byteTokenizer,
  createLoader,
  defaultDatasetPath,
  type LoaderOptions,
  llama2Tokenizer,
  stopIdleWorkers,
  tokenizeWorkerStats,
  withAnchorToken,
} from "../src/index";
import { fixture } from "./helpers";

const heldout = defaultDatasetPath("heldout");
const bytes = withAnchorToken(byteTokenizer());
const llama = withAnchorToken(llama2Tokenizer());

async function run(opts: LoaderOptions, limit = Infinity) {
  const loader = await createLoader(opts);
  const batches: Batch[] = [];
  for await (const b of loader.batches()) {
    batches.push(b);
    if (batches.length >= limit) break;
  }
  return { batches, keys: batches.map(key), report: JSON.stringify(loader.report.snapshot()) };
}

function key(b: Batch): string {
  const parts = [b.inputIds, b.anchorMask, b.docIds, b.lengths].map((a) => [...a].join(","));
  return [b.batch, b.seqLen, ...parts, JSON.stringify(b.state)].join("|");
}

const llamaAc: LoaderOptions = {
  source: heldout,
  tokenizer: llama,
  anchors: { mode: "ac" },
  mode: "pack",
  contextLength: 256,
  batchSize: 4,
  workers: 3,
};

// Start two workers (kept idle afterwards), so the runs below get workers that are already up.
beforeAll(() => run(llamaAc));
afterAll(() => stopIdleWorkers());

describe("tokenisation threads", () => {
  const configs: Array<[string, LoaderOptions]> = [
    [
      "paper, shuffle, rank 1 of 2, bad input, main + 2 workers",
      {
        source: [
          join(heldout, "c4_sample.jsonl.gz"),
          fixture("bad", "bad.jsonl"),
          join(heldout, "wikipedia_sample.jsonl.zst"),
          fixture("bad", "truncated.jsonl.gz"),
        ],
        tokenizer: bytes,
        anchors: { mode: "ac" },
        contextLength: 200,
        batchSize: 3,
        shuffle: { seed: 5, blockSize: 7, files: true },
        rank: 1,
        worldSize: 2,
        workers: 3,
      },
    ],
    [
      "pack, Llama-2 EP, eos, 2 epochs, main + 1 worker",
      {
        source: heldout,
        tokenizer: llama,
        anchors: { mode: "ep" },
        mode: "pack",
        eos: true,
        contextLength: 512,
        batchSize: 2,
        epochs: 2,
        workers: 2,
      },
    ],
  ];

  it.each(configs)("%s: same batches, states and report as inline", async (_name, opts) => {
    const inline = await run({ ...opts, workers: 0 });
    const pooled = await run(opts);
    expect(pooled.keys).toEqual(inline.keys);
    expect(pooled.report).toBe(inline.report);
  });

  it("the workers and this thread both tokenise (Llama-2 AC, main + 2 workers)", async () => {
    const before = tokenizeWorkerStats();
    const pooled = await run(llamaAc);
    const after = tokenizeWorkerStats();
    expect(after.started).toBe(before.started);
    expect(after.chunksInWorkers).toBeGreaterThan(before.chunksInWorkers);
    expect(after.chunksHere).toBeGreaterThan(before.chunksHere);
    expect(pooled.keys).toEqual((await run({ ...llamaAc, workers: 0 })).keys);
  });

  it("resuming with workers continues exactly where the inline run is", async () => {
    const opts = configs[0]![1];
    const inline = await run({ ...opts, workers: 0 });
    const n = Math.floor(inline.batches.length / 2);
    const head = await run(opts, n);
    const state = JSON.parse(JSON.stringify(head.batches[n - 1]!.state));
    const tail = await run({ ...opts, resume: state });
    expect([...head.keys, ...tail.keys]).toEqual(inline.keys);
    expect(tail.report).toBe(inline.report);
  });

  it("workers: 0 and 1 tokenise on this thread only", async () => {
    const before = tokenizeWorkerStats().started;
    const opts: LoaderOptions = { source: heldout, tokenizer: bytes, contextLength: 64 };
    const one = await run({ ...opts, workers: 1 });
    expect(one.keys).toEqual((await run(opts)).keys);
    expect(tokenizeWorkerStats().started).toBe(before);
  });

  it("idle workers serve the next loader: after an early stop, with another tokenizer", async () => {
    await stopIdleWorkers();
    const llamaOpts: LoaderOptions = { ...llamaAc, workers: 2 };
    const started = tokenizeWorkerStats().started;
    await run(llamaOpts, 1); // stops while the worker is busy
    expect(tokenizeWorkerStats()).toMatchObject({ started: started + 1, idle: 1 });
    const byteOpts: LoaderOptions = { ...llamaOpts, tokenizer: bytes, contextLength: 128 };
    expect((await run(byteOpts)).keys).toEqual((await run({ ...byteOpts, workers: 0 })).keys);
    expect((await run(llamaOpts)).keys).toEqual((await run({ ...llamaOpts, workers: 0 })).keys);
    expect(tokenizeWorkerStats()).toMatchObject({ started: started + 1, idle: 1 });
    await stopIdleWorkers();
    expect(tokenizeWorkerStats().idle).toBe(0);
  });
});
