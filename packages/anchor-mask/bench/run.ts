// Benchmark (`pnpm bench`): structure + compact form for a 4096-token sequence, and dense mask fill
// rate against a plain Uint8Array/Float32Array fill and copy of the same size in the same run.
// Prints one JSON object on stdout; all times are medians over repeated runs.
import {
  AnchorCacheState,
  anchorStructure,
  buildAdditiveAnchorMask,
  buildAnchorMask,
  compactMask,
  epStrategy,
  markAnchors,
} from "../src/index";

/** Median wall time in ms of `fn` over `reps` runs after `warmup` runs. */
function median(fn: () => unknown, reps: number, warmup = 300): number {
  for (let k = 0; k < warmup; k++) fn();
  const times: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Seeded token stream: ~1 period (id 29889) every `every` tokens on average. */
function tokens(seqLen: number, every: number, seed: number): Int32Array {
  let x = seed >>> 0 || 1;
  const out = new Int32Array(seqLen);
  for (let t = 0; t < seqLen; t++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[t] = (x >>> 0) % every === 0 ? 29889 : 100 + ((x >>> 0) % 30000);
  }
  return out;
}

const GB = 1e9;
const seqLen = 4096;
const ids = tokens(seqLen, 25, 34);
const strategy = epStrategy([29889]);
const flags = markAnchors(ids, strategy);
const nAnchors = flags.reduce((a, b) => a + b, 0);

const structureMs = median(() => compactMask(anchorStructure(flags)), 200);
const markStructureCompactMs = median(
  () => compactMask(anchorStructure(markAnchors(ids, strategy))),
  200,
);
const padded = median(
  () => compactMask(anchorStructure(flags, { length: 3000, bosVisible: true })),
  200,
);

const denseResults: Record<string, unknown>[] = [];
for (const n of [1024, 2048, 4096]) {
  const f = flags.subarray(0, n);
  const bytes = n * n;
  const src = new Uint8Array(bytes).fill(1);
  const srcF = new Float32Array(bytes).fill(1);
  const reps = n >= 4096 ? 15 : 30;
  // Fresh buffers (allocation + page faults included on both sides).
  const mask = median(() => buildAnchorMask(f), reps, 5);
  const additive = median(() => buildAdditiveAnchorMask(f), reps, 5);
  const fill = median(() => new Uint8Array(bytes).fill(1), reps, 5);
  const copy = median(() => new Uint8Array(bytes).set(src), reps, 5);
  const fillF = median(() => new Float32Array(bytes).fill(-1), reps, 5);
  const copyF = median(() => new Float32Array(bytes).set(srcF), reps, 5);
  // Preallocated, already-touched buffers: pure memory traffic.
  const out = new Uint8Array(bytes);
  const outF = new Float32Array(bytes);
  const maskInto = median(() => buildAnchorMask(f, { out }), reps, 5);
  const additiveInto = median(() => buildAdditiveAnchorMask(f, { out: outF }), reps, 5);
  const fillInto = median(() => out.fill(1), reps, 5);
  const copyInto = median(() => out.set(src), reps, 5);
  const fillIntoF = median(() => outF.fill(-1), reps, 5);
  const copyIntoF = median(() => outF.set(srcF), reps, 5);
  const gbps = (b: number, ms: number) => b / (ms * 1e-3) / GB;
  denseResults.push({
    seqLen: n,
    maskBytes: bytes,
    uint8Fresh: {
      buildAnchorMaskMs: mask,
      plainAllocFillMs: fill,
      plainAllocCopyMs: copy,
      ratioToFill: mask / fill,
      ratioToCopy: mask / copy,
    },
    uint8Into: {
      buildAnchorMaskMs: maskInto,
      plainFillMs: fillInto,
      plainCopyMs: copyInto,
      buildGBps: gbps(bytes, maskInto),
      fillGBps: gbps(bytes, fillInto),
      ratioToFill: maskInto / fillInto,
      ratioToCopy: maskInto / copyInto,
    },
    float32Fresh: {
      buildAdditiveMs: additive,
      plainAllocFillMs: fillF,
      plainAllocCopyMs: copyF,
      ratioToFill: additive / fillF,
      ratioToCopy: additive / copyF,
    },
    float32Into: {
      buildAdditiveMs: additiveInto,
      plainFillMs: fillIntoF,
      plainCopyMs: copyIntoF,
      buildGBps: gbps(4 * bytes, additiveInto),
      fillGBps: gbps(4 * bytes, fillIntoF),
      ratioToFill: additiveInto / fillIntoF,
      ratioToCopy: additiveInto / copyIntoF,
    },
  });
}

// Inference bookkeeping: prefill 2048 tokens, then decode 2048 tokens one by one.
const decodeMs = median(
  () => {
    const st = new AnchorCacheState();
    st.append(flags.subarray(0, 2048));
    for (let t = 2048; t < seqLen; t++) st.append(flags.subarray(t, t + 1));
  },
  10,
  1,
);

console.log(
  JSON.stringify(
    {
      package: "@anllm/anchor-mask",
      node: process.version,
      note: "times are medians in ms; ratios < ~1.5 mean the builder runs at memory speed",
      seqLen,
      anchors: nAnchors,
      structureAndCompactMs: structureMs,
      markStructureAndCompactMs: markStructureCompactMs,
      paddedBosStructureAndCompactMs: padded,
      dense: denseResults,
      cacheState: {
        prefill: 2048,
        decodeSteps: seqLen - 2048,
        totalMs: decodeMs,
        perDecodeStepUs: (decodeMs * 1e3) / (seqLen - 2048),
      },
    },
    null,
    2,
  ),
);
