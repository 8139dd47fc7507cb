// Benchmark (prints JSON on stdout): tokens/s of the loader on the embedded corpus on this thread
// vs this thread plus worker threads (medians of interleaved repeats, a cold start, and a pure-CPU
// 1-vs-2-thread control that shows how much parallelism the machine had free), and RSS while
// streaming a synthetic ~1 GB file (plain and zstd) generated in the temp folder, then deleted.
// Usage: pnpm bench [--quick] [--repeats N] [--epochs N] [--gb X] [--skip-memory]
// --epochs (default 3, 1 with --quick): passes over the embedded corpus per timed run, so a
// worker's start-up weighs on the cold figure as it does in a real (much longer) stream.
import { execFileSync } from "node:child_process";
import { createWriteStream, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { seededRandom } from "@anllm/tensor";
import {
  createLoader,
  defaultDatasetPath,
  llama2Tokenizer,
  readDocuments,
  stopIdleWorkers,
  withAnchorToken,
} from "../src/index";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const argNum = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const repeats = argNum("--repeats", quick ? 1 : 3);
const epochs = argNum("--epochs", quick ? 1 : 3);
const targetBytes = Math.round(argNum("--gb", quick ? 0.1 : 1) * 1024 ** 3);
const skipMemory = args.includes("--skip-memory");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface TokenRun {
  tokens: number;
  seconds: number;
  cpuSeconds: number;
  /** From the first batch on (worker startup and pipeline fill excluded). */
  steadyTokens: number;
  steadySeconds: number;
  steadyCpuSeconds: number;
  firstBatchSeconds: number;
}

async function tokenRun(workers: number): Promise<TokenRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loader = await createLoader({
    source: defaultDatasetPath(),
    tokenizer: withAnchorToken(llama2Tokenizer()),
    anchors: { mode: "ac" },
    mode: "pack",
    contextLength: 4096,
    batchSize: 8,
    workers,
    epochs,
  });
  let first: { t: number; cpu: NodeJS.CpuUsage; tokens: number } | null = null;
  for await (const _ of loader.batches()) {
    first ??= { t: performance.now(), cpu: process.cpuUsage(), tokens: loader.stats.tokens };
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const steadyCpu = process.cpuUsage(first!.cpu);
  return {
    tokens: loader.stats.tokens,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    steadyTokens: loader.stats.tokens - first!.tokens,
    steadySeconds: (performance.now() - first!.t) / 1000,
    steadyCpuSeconds: (steadyCpu.user + steadyCpu.system) / 1e6,
    firstBatchSeconds: (first!.t - t0) / 1000,
  };
}

/** Control: wall time of a fixed pure-CPU job on 1 vs 2 threads (the machine's free parallelism). */
async function spinControl(): Promise<number> {
  const code = `const { parentPort, workerData } = require("node:worker_threads");
    let x = 0; for (let i = 0; i < workerData; i++) x = (x * 31 + i) | 0; parentPort.postMessage(x);`;
  const n = quick ? 1e8 : 4e8;
  const time = async (threads: number) => {
    const t0 = performance.now();
    await Promise.all(
      Array.from(
        { length: threads },
        () =>
          new Promise((r) =>
            new Worker(code, { eval: true, workerData: n / threads }).once("message", r),
          ),
      ),
    );
    return performance.now() - t0;
  };
  return (await time(1)) / (await time(2));
}

/** Median over repeats of a per-run figure. */
function med(runs: TokenRun[], f: (x: TokenRun) => number): number {
  return median(runs.map(f));
}

async function throughput() {
  // workers = tokenising threads, this one included: 0 = this thread only; 2 = this thread + 1
  // worker thread, started by an earlier loader and kept ("warm", the steady use of a process);
  // "cold" = workers: 2 after stopIdleWorkers(), so the run starts its worker inside the timing.
  const configs = ["cold", "workers0", "workers2"] as const;
  type Config = (typeof configs)[number];
  const runs = new Map<Config, TokenRun[]>(configs.map((c) => [c, []]));
  const control: number[] = [];
  const load: number[] = [];
  for (let r = 0; r < repeats; r++) {
    load.push(+loadavg()[0]!.toFixed(2));
    control.push(await spinControl());
    for (const c of configs) {
      if (c === "cold") await stopIdleWorkers();
      runs.get(c)!.push(await tokenRun(c === "workers0" ? 0 : 2));
    }
  }
  await stopIdleWorkers();
  const rate = (x: TokenRun) => x.tokens / x.seconds;
  const single = med(runs.get("workers0")!, rate);
  const perRepeat = (c: Config) =>
    runs.get(c)!.map((x, i) => rate(x) / rate(runs.get("workers0")![i]!));
  const round2 = (x: number) => +x.toFixed(2);
  const byConfig = <T>(f: (c: Config) => T) =>
    Object.fromEntries(configs.map((c) => [c === "cold" ? "workers2Cold" : c, f(c)]));
  const cpuPerM = (c: Config) =>
    med(runs.get(c)!, (x) => (x.steadyCpuSeconds / x.steadyTokens) * 1e6);
  return {
    corpus: "embedded train split, Llama-2 + AC anchors, packing (every token counted)",
    epochs,
    tokens: runs.get("workers0")![0]!.tokens,
    repeats,
    loadavg1minPerRepeat: load,
    tokensPerSecond: byConfig((c) => Math.round(med(runs.get(c)!, rate))),
    speedup: byConfig((c) => round2(med(runs.get(c)!, rate) / single)),
    speedupPerRepeat: byConfig((c) => perRepeat(c).map(round2)),
    speedupPerRepeatMedian: byConfig((c) => round2(median(perRepeat(c)))),
    firstBatchSeconds: byConfig((c) => round2(med(runs.get(c)!, (x) => x.firstBatchSeconds))),
    controlSpeedup2Threads: round2(median(control)),
    controlPerRepeat: control.map(round2),
    parallelEfficiencyVsControl: round2(
      med(runs.get("workers2")!, rate) / single / median(control),
    ),
    steadyStateTokensPerSecond: byConfig((c) =>
      Math.round(med(runs.get(c)!, (x) => x.steadyTokens / x.steadySeconds)),
    ),
    steadyStateCpuSecondsPerMillionTokens: byConfig((c) => round2(cpuPerM(c))),
    // Upper bound on 2 idle cores from CPU cost alone (steady state, this thread + 1 worker).
    projectedSteadySpeedup2IdleCores: round2((2 * cpuPerM("workers0")) / cpuPerM("workers2")),
    cpuSecondsMedian: byConfig((c) => +med(runs.get(c)!, (x) => x.cpuSeconds).toFixed(1)),
  };
}

const WORDS =
  "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more who its what about up into than them can only other time new some could these two may first then do any like my now over such our man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three".split(
    " ",
  );

async function writeSynthetic(path: string, bytes: number): Promise<number> {
  const rnd = seededRandom(1234);
  const out = createWriteStream(path, { highWaterMark: 1 << 22 });
  let written = 0;
  let n = 0;
  while (written < bytes) {
    const words = 40 + Math.floor(rnd.next() * 3000);
    const parts: string[] = [];
    for (let i = 0; i < words; i++) parts.push(WORDS[Math.floor(rnd.next() * WORDS.length)]!);
    const line = `${JSON.stringify({ text: `${parts.join(" ")}.`, meta: { id: n++, url: `https://synthetic.example/${n}` } })}\n`;
    written += Buffer.byteLength(line);
    if (!out.write(line)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  return n;
}

async function streamRss(path: string) {
  const size = statSync(path).size;
  global.gc?.();
  const rss: number[] = [];
  let chars = 0;
  let docs = 0;
  let nextSample = 0;
  const step = 32 * 1024 * 1024;
  const t0 = performance.now();
  for await (const d of readDocuments(path)) {
    docs++;
    chars += d.text.length;
    if (chars >= nextSample) {
      rss.push(process.memoryUsage.rss() / 2 ** 20);
      nextSample += step;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const afterWarmup = rss[Math.floor(rss.length / 10)] ?? rss[0]!;
  return {
    fileMBOnDisk: Math.round(size / 2 ** 20),
    docs,
    seconds: +seconds.toFixed(1),
    rssMB: {
      samples: rss.length,
      first: Math.round(rss[0]!),
      median: Math.round(median(rss)),
      max: Math.round(Math.max(...rss)),
      last: Math.round(rss[rss.length - 1]!),
      growthAfterFirstTenth: Math.round(
        Math.max(...rss.slice(Math.floor(rss.length / 10))) - afterWarmup,
      ),
    },
  };
}

async function memory() {
  const dir = tmpdir();
  const plain = join(dir, `rp-bench-${process.pid}.jsonl`);
  const zst = `${plain}.zst`;
  try {
    const docs = await writeSynthetic(plain, targetBytes);
    const plainRes = await streamRss(plain);
    execFileSync("zstd", ["-q", "-1", "-T2", "-f", plain, "-o", zst]);
    rmSync(plain);
    const zstRes = await streamRss(zst);
    return {
      generatedDocs: docs,
      plain: plainRes,
      zstd: { ...zstRes, compressedMB: Math.round(statSync(zst).size / 2 ** 20) },
    };
  } finally {
    rmSync(plain, { force: true });
    rmSync(zst, { force: true });
  }
}

const result = {
  machine: {
    cpus: cpus().length,
    loadavgAtStart: loadavg().map((x) => +x.toFixed(2)),
    node: process.version,
  },
  throughput: await throughput(),
  memory: skipMemory ? null : await memory(),
  loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
