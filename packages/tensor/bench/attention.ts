// Anchor vs causal attention, forward + backward, on sentence-like layouts (an anchor every 20
// tokens, as ~20-token sentences give), at growing lengths: the anchor kernels visit only the
// pairs the mask allows (own segment + earlier anchors), so their time grows about linearly while
// causal attention grows quadratically. Also times the host build of the compact mask structure.
import { segmentIds } from "@anllm/anchor-mask";
import * as T from "../src/index";
import { attentionStructure } from "../src/kernels/attention/attention.structure";

export interface AttentionBenchOptions {
  sizes: number[];
  batches: number[];
  nHeads: number;
  headDim: number;
  /** repeats per measurement (median); lengths >= `fewRepsFrom` run `fewReps` repeats */
  reps: number;
  fewRepsFrom: number;
  fewReps: number;
  sentence: number;
  sync: () => Promise<void>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Sentence-like anchor flags of one row: an anchor every `sentence` tokens. */
function anchors(L: number, sentence: number): Int32Array {
  return Int32Array.from({ length: L }, (_, t) => +(t % sentence === sentence - 1));
}

/** Median milliseconds of fn (no warm-up: pipelines are compiled by the first, smallest size). */
async function time(fn: () => Promise<void>, reps: number): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Host time of the compact structure (and of the whole mask: arrays, structure, upload). */
function structureMs(batch: number, L: number, sentence: number, reps: number) {
  const row = anchors(L, sentence);
  const flags = new Int32Array(batch * L);
  for (let b = 0; b < batch; b++) flags.set(row, b * L);
  const pos = Int32Array.from({ length: batch * L }, (_, t) => t % L);
  const rowSeg = segmentIds(row);
  const seg = new Int32Array(batch * L);
  for (let b = 0; b < batch; b++) seg.set(rowSeg, b * L);
  const tokens = {
    qPos: pos,
    qSeg: seg,
    qAnchor: flags,
    qDoc: new Int32Array(batch * L),
    kPos: pos,
    kSeg: seg,
    kAnchor: flags,
    kDoc: new Int32Array(batch * L),
    kValid: new Int32Array(batch * L).fill(1),
  };
  const p = { batch, lq: L, lk: L, anchorMode: true, hasDoc: false, bosVisible: false };
  const build: number[] = [];
  const whole: number[] = [];
  for (let r = 0; r < Math.max(reps, 5); r++) {
    let t0 = performance.now();
    attentionStructure(p, tokens);
    build.push(performance.now() - t0);
    t0 = performance.now();
    T.makeAttentionMask({ batch, lq: L, qAnchor: flags, mode: "anchor" }).dispose();
    whole.push(performance.now() - t0);
  }
  return { structureMs: median(build), maskMs: median(whole) };
}

export async function attentionBench(o: AttentionBenchOptions): Promise<Record<string, unknown>[]> {
  const results: Record<string, unknown>[] = [];
  for (const batch of o.batches) {
    for (const L of o.sizes) {
      const reps = L >= o.fewRepsFrom ? o.fewReps : o.reps;
      const [H, D] = [o.nHeads, o.headDim];
      const n = batch * H * L * D;
      const q = T.param(T.randn([batch, H, L, D], { seed: 1 }));
      const k = T.param(T.randn([batch, H, L, D], { seed: 2 }));
      const v = T.param(T.randn([batch, H, L, D], { seed: 3 }));
      const g = T.randn([batch, H, L, D], { seed: 4 });
      const row = anchors(L, o.sentence);
      const flags = new Int32Array(batch * L);
      for (let b = 0; b < batch; b++) flags.set(row, b * L);
      const run = (mode: "anchor" | "causal") => async () => {
        const mask = T.makeAttentionMask({ batch, lq: L, qAnchor: flags, mode });
        const out = T.attention(q, k, v, mask);
        const loss = T.sum(T.mul(out, g));
        T.backward(loss);
        await o.sync();
        for (const t of [out, loss, q.grad, k.grad, v.grad]) t?.dispose();
        q.grad = k.grad = v.grad = null;
        mask.dispose();
      };
      const forward = (mode: "anchor" | "causal") => async () => {
        const mask = T.makeAttentionMask({ batch, lq: L, qAnchor: flags, mode });
        const out = T.noGrad(() => T.attention(q, k, v, mask));
        await o.sync();
        out.dispose();
        mask.dispose();
      };
      if (results.length === 0) {
        await run("anchor")(); // compiles every pipeline once, outside the timings
        await run("causal")();
      }
      // interleaved, so both see the same machine load
      const [anchorMs, causalMs, anchorFwdMs, causalFwdMs] = [[], [], [], []] as number[][];
      for (let r = 0; r < reps; r++) {
        anchorMs.push(...(await time(run("anchor"), 1)));
        causalMs.push(...(await time(run("causal"), 1)));
        anchorFwdMs.push(...(await time(forward("anchor"), 1)));
        causalFwdMs.push(...(await time(forward("causal"), 1)));
      }
      const s = structureMs(batch, L, o.sentence, reps);
      const r = {
        bench: `attention fwd+bwd L=${L} batch=${batch}`,
        L,
        batch,
        nHeads: H,
        headDim: D,
        sentence: o.sentence,
        reps,
        anchorMs: median(anchorMs),
        causalMs: median(causalMs),
        speedup: median(causalMs) / median(anchorMs),
        anchorFwdMs: median(anchorFwdMs),
        causalFwdMs: median(causalFwdMs),
        fwdSpeedup: median(causalFwdMs) / median(anchorFwdMs),
        structureMsPerSequence: s.structureMs / batch,
        maskMs: s.maskMs,
        runsMs: { anchor: anchorMs, causal: causalMs },
      };
      console.error(
        `attention L=${L} b=${batch}: anchor ${r.anchorMs.toFixed(0)} ms, causal ${r.causalMs.toFixed(0)} ms (x${r.speedup.toFixed(1)}); fwd x${r.fwdSpeedup.toFixed(1)}; structure ${r.structureMsPerSequence.toFixed(3)} ms/seq (${n} values)`,
      );
      results.push(r);
      for (const t of [q, k, v, g]) t.dispose();
    }
  }
  // the structure alone at batch 8 (the figure: well under 1 ms per sequence)
  for (const L of o.sizes) {
    const s = structureMs(8, L, o.sentence, o.reps);
    results.push({
      bench: `mask structure L=${L} batch=8`,
      L,
      batch: 8,
      structureMsPerSequence: s.structureMs / 8,
      maskMs: s.maskMs,
    });
  }
  return results;
}
