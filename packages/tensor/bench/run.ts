// `pnpm bench`: matmul GFLOP/s and training-step time of @anllm/tensor vs tfjs-webgpu, and anchor
// vs causal attention forward + backward with the mask-structure build time, measured in the same
// run on the same adapter (medians). Prints a table and JSON; writes bench-results.json.
// Flags: --quick (fewer reps), --big (add the "big" model), --sizes=256,512 (matmul),
// --attention-sizes=1024,4096 --attention-batches=1,4 --attention-reps=3, --skip-attention,
// --out=FILE (default bench-results.json), --no-autotune (otherwise the autotuner first times the candidate variants of every matmul and
// attention shape the run uses, so "ours" runs the variants it chose on this machine),
// --spin-wait-ms=N (the device's spinWaitMs; Infinity: busy-poll every wait, as before idle-wait.ts).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, totalmem } from "node:os";
import * as T from "../src/index";
import { initNodeDevice, nodeGpu } from "../src/node";
import { attentionBench } from "./attention";
import { type BenchConfig, makeOurs } from "./model";
import { makeTfjs } from "./tfjs-model";

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(`--${n}`);
const opt = (n: string) => args.find((a) => a.startsWith(`--${n}=`))?.split("=")[1];
const REPS = flag("quick") ? 3 : 5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

const spinOpt = opt("spin-wait-ms");
const spinWaitMs = spinOpt === undefined ? undefined : Number(spinOpt);
if (spinWaitMs !== undefined && !(spinWaitMs >= 0))
  throw new Error(`--spin-wait-ms must be a number >= 0 or Infinity, got "${spinOpt}"`);
const dev = await initNodeDevice({ prefer: "webgpu", spinWaitMs });
(globalThis as { navigator?: unknown }).navigator = { gpu: nodeGpu() };
// tfjs's ESM dist uses directory imports Node rejects: load through require (tsx transpiles)
const require = createRequire(import.meta.url);
const tf = require("@tensorflow/tfjs-core") as typeof import("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-core/dist/register_all_gradients.js");
require("@tensorflow/tfjs-backend-webgpu");
await tf.setBackend("webgpu");
await tf.ready();

async function timeIt(fn: () => Promise<unknown>, reps: number): Promise<number[]> {
  await fn(); // warm-up: pipeline compiles
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const results: Record<string, unknown>[] = [];
const sizes = (opt("sizes") ?? "256,512,1024").split(",").map(Number);
const configs: BenchConfig[] = [
  { name: "small", dModel: 128, nLayers: 2, nHeads: 4, seqLen: 128, batch: 4, vocabSize: 2048 },
];
if (flag("big"))
  configs.push({
    name: "big",
    dModel: 256,
    nLayers: 4,
    nHeads: 4,
    seqLen: 256,
    batch: 8,
    vocabSize: 32000,
  });

if (!flag("no-autotune")) {
  const t0 = performance.now();
  const work: T.TuneWork[] = sizes.map((n) => ({ op: "matmul", m: n, k: n, n }) as const);
  for (const c of configs) work.push(...(await T.recordTuneWork(makeOurs(c))));
  const entries = await T.autotune(work, { reps: 3 });
  results.push({ bench: "autotune", seconds: (performance.now() - t0) / 1000, entries });
  console.error(entries.map((e) => `autotune ${e.shapeClass}: ${e.choice}`).join("\n"));
}
for (const n of sizes) {
  const a = T.randn([n, n], { seed: 1 });
  const b = T.randn([n, n], { seed: 2 });
  const ta = tf.randomNormal([n, n]);
  const tb = tf.randomNormal([n, n]);
  const ours = async () => {
    const c = T.matmul(a, b);
    await dev.sync();
    c.dispose();
  };
  const theirs = async () => {
    const c = tf.matMul(ta, tb);
    await c.data();
    c.dispose();
  };
  const oursB = async () => {
    const c = T.matmul(a, b);
    await c.data();
    c.dispose();
  };
  // interleave so both see the same machine load
  const o: number[] = [];
  const t: number[] = [];
  const ob: number[] = [];
  for (let r = 0; r < REPS; r++) {
    o.push(...(await timeIt(ours, 1)));
    t.push(...(await timeIt(theirs, 1)));
    ob.push(...(await timeIt(oursB, 1)));
  }
  const gf = (ms: number) => (2 * n ** 3) / ms / 1e6;
  results.push({
    bench: `matmul ${n}`,
    oursMs: median(o),
    oursReadbackMs: median(ob),
    tfjsMs: median(t),
    oursGflops: gf(median(o)),
    tfjsGflops: gf(median(t)),
    speedup: median(t) / median(ob),
  });
  for (const x of [a, b]) x.dispose();
  tf.dispose([ta, tb]);
}

for (const c of configs) {
  const ours = makeOurs(c);
  const theirs = makeTfjs(tf, c);
  const reps = c.name === "big" ? 2 : REPS;
  const o: number[] = [];
  const t: number[] = [];
  const lossesOurs: number[] = [];
  const lossesTfjs: number[] = [];
  lossesOurs.push(await ours());
  lossesTfjs.push(await theirs());
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    lossesOurs.push(await ours());
    o.push(performance.now() - t0);
    t0 = performance.now();
    lossesTfjs.push(await theirs());
    t.push(performance.now() - t0);
  }
  results.push({
    bench: `train step ${c.name}`,
    oursMs: median(o),
    tfjsMs: median(t),
    speedup: median(t) / median(o),
    lossesOurs,
    lossesTfjs,
  });
}

if (!flag("skip-attention")) {
  const list = (name: string, def: string) => (opt(name) ?? def).split(",").map(Number);
  results.push(
    ...(await attentionBench({
      sizes: list("attention-sizes", "1024,4096,8192,16384"),
      batches: list("attention-batches", "1,4"),
      nHeads: 4,
      headDim: 32,
      reps: Number(opt("attention-reps") ?? 3),
      fewRepsFrom: 16384,
      fewReps: 1,
      sentence: 20,
      sync: () => dev.sync(),
    })),
  );
}

const table = results
  .filter((r) => r.bench !== "autotune")
  .map((r) => {
    const f = (x: unknown) => (typeof x === "number" ? x.toFixed(x > 100 ? 0 : 2) : "");
    if (r.anchorMs !== undefined)
      return `${String(r.bench).padEnd(36)} anchor ${f(r.anchorMs).padStart(8)} ms  causal ${f(r.causalMs).padStart(8)} ms  x${f(r.speedup)}  structure ${f(r.structureMsPerSequence)} ms/seq`;
    if (r.structureMsPerSequence !== undefined)
      return `${String(r.bench).padEnd(36)} structure ${f(r.structureMsPerSequence)} ms/seq, whole mask ${f(r.maskMs)} ms`;
    return `${String(r.bench).padEnd(20)} ours ${f(r.oursReadbackMs ?? r.oursMs).padStart(8)} ms  tfjs ${f(r.tfjsMs).padStart(8)} ms  x${f(r.speedup)}${r.oursGflops ? `  (${f(r.oursGflops)} vs ${f(r.tfjsGflops)} GFLOP/s)` : ""}`;
  });
const commit = (() => {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const report = {
  command: `pnpm --filter @anllm/tensor bench ${args.join(" ")}`.trim(),
  commit,
  machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  device: dev.name,
  reps: REPS,
  spinWaitMs: String((dev as { spinWaitMs?: number }).spinWaitMs ?? "n/a"),
  date: new Date().toISOString(),
  results,
};
writeFileSync(opt("out") ?? "bench-results.json", `${JSON.stringify(report, null, 2)}\n`);
console.error(table.join("\n"));
console.log(JSON.stringify(report));
process.exit(0);
