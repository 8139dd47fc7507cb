// Big-model benchmark (issue 14): random Llama-2-architecture models written by
// bench/make-random-model.ts, loaded with a dtype and run with the anchor cache, each in its own
// process so its peak resident memory (maxRSS) is its own. Reports per model and dtype: load
// seconds, peak RSS, prefill seconds, decode seconds per token (greedy, anchor cache), the
// generated tokens, and for the f16/f32 pair of one model the greedy-token match and the top-1
// agreement under teacher forcing. Run through `pnpm bench -- --suite big` (bench/run.ts).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { argmax, reshape } from "@anllm/tensor";
import { initNodeDevice } from "@anllm/tensor/node";
import { generate, type ModelDType } from "../src/index";
import { loadModel } from "../src/node";

/** One child run: what it measured. */
interface ChildResult {
  model: string;
  dtype: ModelDType;
  params: number;
  device: string;
  loadSeconds: number;
  rssAfterLoadBytes: number;
  peakRssBytes: number;
  promptTokens: number;
  prefillSeconds: number;
  decodeSecondsPerToken: number;
  tokensPerSecDecode: number;
  newTokens: number[];
  cachePeakBytes: number;
  cacheFullBytes: number;
  /** argmax of every position of a teacher-forced sequence (to compare dtypes) */
  teacherForcedTop1?: number[];
}

const ANCHOR = 13;

/** A prompt of `n` ids with an anchor every 8 tokens (sentences of 8 tokens). */
function promptOf(n: number, vocab: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) =>
    i % 8 === 7 ? ANCHOR : 100 + ((i * 7919) % (vocab - 200)),
  );
}

async function child(
  dir: string,
  dtype: ModelDType,
  newTokens: number,
  promptLen: number,
  teacher: number,
) {
  const device = await initNodeDevice({ prefer: "webgpu" });
  let t0 = performance.now();
  const model = await loadModel(dir, { device, dtype });
  await device.sync();
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoadBytes = process.memoryUsage().rss;
  const vocab = model.config.vocabSize;
  const prompt = promptOf(promptLen, vocab);
  const opts = { cache: "anchor" as const, anchorIds: [ANCHOR], eosId: -1, chunkSize: promptLen };
  // prefill + 1 token, then prefill + N tokens: the difference is N - 1 decode steps
  t0 = performance.now();
  await generate(model, [prompt], { ...opts, maxNewTokens: 1 });
  const one = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const g = await generate(model, [prompt], { ...opts, maxNewTokens: newTokens });
  const all = (performance.now() - t0) / 1000;
  const decode = (all - one) / Math.max(1, newTokens - 1);
  let teacherForcedTop1: number[] | undefined;
  if (teacher > 0) {
    const ids = promptOf(teacher, vocab);
    const logits = model.forward({
      inputIds: ids,
      isAnchor: Uint8Array.from(ids, (t) => +(t === ANCHOR)),
      batch: 1,
      seqLen: teacher,
      attention: "anchor",
    });
    const top = argmax(reshape(logits, [teacher, vocab]), -1);
    teacherForcedTop1 = Array.from(await top.data());
    top.dispose();
    logits.dispose();
  }
  const res: ChildResult = {
    model: dir,
    dtype: model.dtype,
    params: [...model.parameters().values()].reduce((a, t) => a + t.size, 0),
    device: device.name,
    loadSeconds: +loadSeconds.toFixed(2),
    rssAfterLoadBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    promptTokens: promptLen,
    prefillSeconds: +(one - decode).toFixed(2),
    decodeSecondsPerToken: +decode.toFixed(3),
    tokensPerSecDecode: +(1 / decode).toFixed(3),
    newTokens: Array.from(g.tokens[0] ?? []),
    cachePeakBytes: g.stats.peakBytes,
    cacheFullBytes: g.stats.fullBytes,
    ...(teacherForcedTop1 ? { teacherForcedTop1 } : {}),
  };
  model.dispose();
  console.log(JSON.stringify(res));
}

function spawnChild(args: string[]): ChildResult {
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, import.meta.filename, "--child", ...args],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (r.status !== 0)
    throw new Error(`big-models child ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
  const line = r.stdout.trim().split("\n").pop() as string;
  return JSON.parse(line) as ChildResult;
}

const GiB = 2 ** 30;

/** The suite: TinyLlama-shaped in f32 and f16, then the 7B-shaped in f16. */
export async function bigModels(opts: { tinyllama: string; llama7b: string; tokens: number }) {
  for (const d of [opts.tinyllama, opts.llama7b]) {
    if (!existsSync(d)) {
      throw new Error(
        `${d} is missing: write it first with bench/make-random-model.ts (see the header of bench/big-models.ts)`,
      );
    }
  }
  const teacher = 128;
  const tinyF32 = spawnChild([opts.tinyllama, "f32", String(opts.tokens), "32", String(teacher)]);
  const tinyF16 = spawnChild([opts.tinyllama, "f16", String(opts.tokens), "32", String(teacher)]);
  const a = tinyF32.teacherForcedTop1 ?? [];
  const b = tinyF16.teacherForcedTop1 ?? [];
  const agree = a.filter((t, i) => t === b[i]).length / Math.max(1, a.length);
  const big = spawnChild([opts.llama7b, "f16", "4", "16", "0"]);
  const strip = ({ teacherForcedTop1: _, ...r }: ChildResult) => r;
  return {
    tinyllama: {
      f32: strip(tinyF32),
      f16: strip(tinyF16),
      greedyTokensEqual: JSON.stringify(tinyF32.newTokens) === JSON.stringify(tinyF16.newTokens),
      teacherForcedPositions: a.length,
      teacherForcedTop1Agreement: +agree.toFixed(4),
      peakRssRatioF16toF32: +(tinyF16.peakRssBytes / tinyF32.peakRssBytes).toFixed(3),
    },
    llama2_7b_f16: {
      ...strip(big),
      peakRssGiB: +(big.peakRssBytes / GiB).toFixed(2),
      underTwentyGiB: big.peakRssBytes < 20 * GiB,
    },
  };
}

if (process.argv.includes("--child")) {
  const [dir, dtype, tokens, promptLen, teacher] = process.argv.slice(
    process.argv.indexOf("--child") + 1,
  );
  await child(
    dir as string,
    dtype as ModelDType,
    Number(tokens),
    Number(promptLen),
    Number(teacher),
  );
  process.exit(0);
}
