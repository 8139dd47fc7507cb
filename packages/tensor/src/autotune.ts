// The kernel autotuner: for each shape class in use it times the candidate variants of a kernel
// family on the device at hand (matmul tilings; attention kernel families) and records the
// fastest, so that `matmul` and `attention` pick it from then on. What is fastest differs between
// machines of the same kind (a Zen 3 and a Zen 4 software adapter, or a GPU), so it is measured,
// never assumed. Choices live per device in memory; a `TuneCache` (the Node entry offers a file
// one: `nodeTuneCache`) keeps them per adapter across processes.
import { segmentIds } from "@anllm/anchor-mask";
import { type Backend, type Device, getBackend } from "./device";
import { randn } from "./factories";
import { attention, makeAttentionMask } from "./ops/attention";
import { matmul } from "./ops/matmul";
import { noGrad } from "./tape";
import type { Tensor } from "./tensor";
import {
  ATTENTION_CANDIDATES,
  type AttentionFamily,
  attentionShapeClass,
  MATMUL_CANDIDATES,
  matmulShapeClass,
  type TuneWork,
  tuningTable,
} from "./tuning";

/** Where choices persist between processes: one table per adapter name. */
export interface TuneCache {
  load(adapter: string): Promise<Record<string, string>>;
  save(adapter: string, table: Record<string, string>): Promise<void>;
}

/** The choices recorded on a device (shape class -> candidate name). */
export function tunedChoices(dev: Device = getBackend()): Record<string, string> {
  return Object.fromEntries(tuningTable(dev));
}

/**
 * Records `choices` (shape class -> candidate name, as `tunedChoices` returns them) on a device,
 * replacing earlier ones: pins the variants a run used, so that resuming it elsewhere in time
 * runs the same kernels. Throws on a name that is no candidate of its family here.
 */
export function setTunedChoices(choices: Record<string, string>, dev: Device = getBackend()): void {
  const kind = (dev as Backend).software ? "software" : "hardware";
  const t = tuningTable(dev);
  for (const [shapeClass, name] of Object.entries(choices)) {
    const known = shapeClass.startsWith("matmul ")
      ? name in MATMUL_CANDIDATES[kind]
      : shapeClass.startsWith("attention ") &&
        (ATTENTION_CANDIDATES[kind] as string[]).includes(name);
    if (!known)
      throw new Error(`setTunedChoices: "${name}" is not a ${kind} candidate for "${shapeClass}"`);
    t.set(shapeClass, name);
  }
}

/** One tuned shape class in an autotune report. */
export interface TuneEntry {
  shapeClass: string;
  choice: string;
  /** median milliseconds per candidate (empty when the choice came from the cache) */
  timesMs: Record<string, number>;
  fromCache: boolean;
}

/** Options of autotune. */
export interface AutotuneOptions {
  device?: Device;
  cache?: TuneCache;
  /** timed runs per candidate after one warm-up (median; default 3) */
  reps?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Times the candidates of every shape class in `work` that has no recorded choice yet (on this
 * device or in the cache) and records the fastest. Returns one entry per distinct shape class.
 */
export async function autotune(work: TuneWork[], opts: AutotuneOptions = {}): Promise<TuneEntry[]> {
  const dev = (opts.device ?? getBackend()) as Backend;
  const t = tuningTable(dev);
  if (opts.cache) {
    for (const [k, v] of Object.entries(await opts.cache.load(dev.name)))
      if (!t.has(k)) t.set(k, v);
  }
  const kind = dev.software ? "software" : "hardware";
  const reps = opts.reps ?? 3;
  const out: TuneEntry[] = [];
  const seen = new Set<string>();
  let changed = false;
  for (const w of work) {
    const shapeClass = w.op === "matmul" ? matmulShapeClass(w) : attentionShapeClass(w);
    if (seen.has(shapeClass)) continue;
    seen.add(shapeClass);
    const known = t.get(shapeClass);
    if (known !== undefined) {
      out.push({ shapeClass, choice: known, timesMs: {}, fromCache: true });
      continue;
    }
    const names =
      w.op === "matmul"
        ? Object.keys(MATMUL_CANDIDATES[kind])
        : ATTENTION_CANDIDATES[kind].filter((f) => f !== "unrolled" || w.headDim % 4 === 0);
    const timesMs: Record<string, number> = {};
    const { runOnce, dispose } = candidateRunner(w, kind, dev);
    try {
      for (const name of names) {
        runOnce(name); // compiles the pipelines outside the timing
        await dev.sync();
        const ms: number[] = [];
        for (let r = 0; r < reps; r++) {
          const t0 = performance.now();
          noGrad(() => runOnce(name));
          await dev.sync();
          ms.push(performance.now() - t0);
        }
        timesMs[name] = median(ms);
      }
    } finally {
      dispose();
    }
    const choice = names.reduce((a, b) =>
      (timesMs[b] as number) < (timesMs[a] as number) ? b : a,
    );
    t.set(shapeClass, choice);
    changed = true;
    out.push({ shapeClass, choice, timesMs, fromCache: false });
  }
  if (changed && opts.cache) await opts.cache.save(dev.name, Object.fromEntries(t));
  return out;
}

/** Random inputs for one work item and a function running it with a named candidate. */
function candidateRunner(
  w: TuneWork,
  kind: "software" | "hardware",
  device: Device,
): { runOnce: (name: string) => void; dispose: () => void } {
  const inputs: Tensor[] = [];
  const keep = (x: Tensor) => {
    inputs.push(x);
    return x;
  };
  if (w.op === "matmul") {
    const a = keep(randn(w.transA ? [w.k, w.m] : [w.m, w.k], { seed: 1, device }));
    const b = keep(randn(w.transB ? [w.n, w.k] : [w.k, w.n], { seed: 2, device }));
    return {
      runOnce: (name) => {
        const choice = MATMUL_CANDIDATES[kind][name];
        matmul(a, b, { transA: w.transA, transB: w.transB, ...choice }).dispose();
      },
      dispose: () => {
        for (const x of inputs) x.dispose();
      },
    };
  }
  const q = keep(randn([w.batch, w.nHeads, w.lq, w.headDim], { seed: 1, device }));
  const k = keep(randn([w.batch, w.nKvHeads, w.lk, w.headDim], { seed: 2, device }));
  const v = keep(randn([w.batch, w.nKvHeads, w.lk, w.headDim], { seed: 3, device }));
  // sentence-like anchors (every 20 tokens) on the keys; the queries are the last lq of them
  // (a prefill or decode chunk against a cache)
  const kAnchor = new Int32Array(w.batch * w.lk);
  const kSeg = new Int32Array(w.batch * w.lk);
  const qAnchor = new Int32Array(w.batch * w.lq);
  const qSeg = new Int32Array(w.batch * w.lq);
  const qPos = new Int32Array(w.batch * w.lq);
  const rowAnchor = Int32Array.from({ length: w.lk }, (_, j) => +(j % 20 === 19));
  const rowSeg = segmentIds(rowAnchor);
  for (let b = 0; b < w.batch; b++) {
    kAnchor.set(rowAnchor, b * w.lk);
    kSeg.set(rowSeg, b * w.lk);
    for (let i = 0; i < w.lq; i++) {
      const j = w.lk - w.lq + i;
      qAnchor[b * w.lq + i] = kAnchor[b * w.lk + j] as number;
      qSeg[b * w.lq + i] = kSeg[b * w.lk + j] as number;
      qPos[b * w.lq + i] = j;
    }
  }
  const mask = makeAttentionMask({
    batch: w.batch,
    lq: w.lq,
    lk: w.lk,
    qPos,
    qAnchor,
    qSeg,
    kAnchor,
    kSeg,
    device,
  });
  return {
    runOnce: (name) => {
      attention(q, k, v, mask, { kernels: name as AttentionFamily }).dispose();
    },
    dispose: () => {
      mask.dispose();
      for (const x of inputs) x.dispose();
    },
  };
}
