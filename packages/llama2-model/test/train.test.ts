// Training path: gradients reach every parameter, the chunked-head loss equals the direct loss
// (value and gradients), finite differences agree, and a tiny model trained with anchor attention
// on repeated text drives its loss near zero. Anchor-token addition (mean / copy).
import {
  adamwUpdate,
  backward,
  type Device,
  initDevice,
  memoryStats,
  noGrad,
  setDevice,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "@anllm/tensor";
import { describeDevices } from "@anllm/tensor/testing";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Llama2, type ModelBatch, PRESETS } from "../src/index";

let cpu: Device;
beforeAll(async () => {
  cpu = await initDevice({ prefer: "cpu" });
});

/** Grads persist outside tidy scopes (they accumulate): free them explicitly. */
function zeroGrad(p: Tensor) {
  p.grad?.dispose();
  p.grad = null;
}

const CFG = { ...PRESETS.tiny, vocabSize: 32 };
const ANCHOR = 7;

/** Repeated text: a 12-token "sentence" ending with an anchor, twice per row (row 2 relabelled). */
function repeatedBatch(): ModelBatch {
  const sentence = [1, 12, 5, 9, 20, 3, 15, 4, 11, 30, 6, ANCHOR];
  const row = [...sentence, ...sentence.slice(1)];
  const ids = Int32Array.from([...row, ...row.map((t) => (t === ANCHOR ? t : ((t * 5) % 29) + 3))]);
  return {
    inputIds: ids,
    isAnchor: Uint8Array.from(ids, (t) => +(t === ANCHOR)),
    batch: 2,
    seqLen: row.length,
    attention: "anchor",
  };
}

async function grads(model: Llama2, batch: ModelBatch, maxLogits?: number) {
  for (const p of model.parameters().values()) zeroGrad(p);
  const loss = model.loss(batch, { maxLogits });
  backward(loss);
  const out = new Map<string, Float32Array>();
  for (const [n, p] of model.parameters())
    out.set(n, (await (p.grad as Tensor).data()) as Float32Array);
  return { loss: await loss.item(), grads: out };
}

describeDevices("training path", () => {
  it("every parameter gets a nonzero gradient; chunked head == direct head", async () => {
    const model = Llama2.init(CFG, { seed: 3, std: 0.2 });
    const b = repeatedBatch();
    const direct = await grads(model, b);
    const chunked = await grads(model, b, 3 * CFG.vocabSize); // 3 rows of logits at a time
    expect(chunked.loss).toBeCloseTo(direct.loss, 5);
    for (const [name, g] of direct.grads) {
      const c = chunked.grads.get(name) as Float32Array;
      const maxAbs = g.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
      expect(maxAbs, name).toBeGreaterThan(0);
      let diff = 0;
      for (let i = 0; i < g.length; i++)
        diff = Math.max(diff, Math.abs((g[i] as number) - (c[i] as number)));
      expect(diff / maxAbs, name).toBeLessThan(1e-4);
    }
    model.dispose();
  });

  it("tiny model with anchor attention learns repeated text (loss -> near zero)", async () => {
    const model = Llama2.init(CFG, { seed: 7, std: 0.1 });
    const b = repeatedBatch();
    const state = new Map<string, { m: Tensor; v: Tensor }>();
    for (const [n, p] of model.parameters()) state.set(n, { m: zeros(p.shape), v: zeros(p.shape) });
    let first = 0;
    let last = 0;
    const live = memoryStats().liveTensors;
    for (let step = 1; step <= 200; step++) {
      const lossT = tidy(() => {
        for (const p of model.parameters().values()) zeroGrad(p);
        const loss = model.loss(b);
        backward(loss);
        noGrad(() => {
          for (const [n, p] of model.parameters()) {
            const s = state.get(n) as { m: Tensor; v: Tensor };
            const o = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step };
            adamwUpdate(p, p.grad as Tensor, s.m, s.v, o);
          }
        });
        return loss;
      });
      const value = await lossT.item();
      lossT.dispose();
      if (step === 1) first = value;
      last = value;
    }
    for (const p of model.parameters().values()) zeroGrad(p);
    console.log(`train: loss ${first.toFixed(3)} -> ${last.toFixed(4)} in 200 AdamW steps`);
    expect(memoryStats().liveTensors).toBeLessThan(live + 20); // no per-step leak
    expect(first).toBeGreaterThan(3);
    expect(last).toBeLessThan(0.01);
    model.dispose();
  });
});

describe("finite differences (CPU device)", () => {
  beforeEach(() => setDevice(cpu));

  it("gradient agrees with finite differences (loss in float32, central differences)", async () => {
    const model = Llama2.init(CFG, { seed: 4, std: 0.3 });
    const b = repeatedBatch();
    const { grads: g } = await grads(model, b);
    const lossAt = async () => noGrad(() => model.loss(b)).item();
    for (const name of [
      "model.layers.1.self_attn.k_proj.weight",
      "model.layers.0.mlp.gate_proj.weight",
      "model.norm.weight",
    ]) {
      const p = model.param(name);
      const data = (await p.data()) as Float32Array;
      for (const i of [0, 5]) {
        const h = 1e-2;
        const orig = data[i] as number;
        data[i] = orig + h;
        p.copyFrom(tensorLike(data, p));
        const up = await lossAt();
        data[i] = orig - h;
        p.copyFrom(tensorLike(data, p));
        const down = await lossAt();
        data[i] = orig;
        p.copyFrom(tensorLike(data, p));
        const fd = (up - down) / (2 * h);
        const an = (g.get(name) as Float32Array)[i] as number;
        expect(Math.abs(fd - an), `${name}[${i}] fd ${fd} vs ${an}`).toBeLessThan(
          2e-3 + 0.05 * Math.abs(an),
        );
      }
    }
    model.dispose();
  });
});

function tensorLike(data: Float32Array, p: Tensor) {
  return tensor(data.slice(), p.shape);
}

describe("anchor token", () => {
  beforeEach(() => setDevice(cpu));

  it("mean init: new rows are the mean of embed and head; vocab grows; forward works", async () => {
    const model = Llama2.init(CFG, { seed: 1, std: 0.5 });
    const embed = (await model.param("model.embed_tokens.weight").data()) as Float32Array;
    const id = model.addAnchorToken();
    expect(id).toBe(32);
    expect(model.config.vocabSize).toBe(33);
    const grown = (await model.param("model.embed_tokens.weight").data()) as Float32Array;
    const d = CFG.dModel;
    for (const j of [0, 7, d - 1]) {
      let m = 0;
      for (let r = 0; r < 32; r++) m += (embed[r * d + j] as number) / 32;
      expect(grown[32 * d + j]).toBeCloseTo(m, 5);
    }
    expect(model.param("lm_head.weight").shape).toEqual([33, d]);
    const logits = model.forward({
      inputIds: Int32Array.of(1, 5, id, 6),
      batch: 1,
      seqLen: 4,
      attention: "anchor",
      isAnchor: Uint8Array.of(0, 0, 1, 0),
    });
    expect(logits.shape).toEqual([1, 4, 33]);
    model.dispose();
  });

  it("copy init copies the given token's embed and head rows; bad id is rejected", async () => {
    const model = Llama2.init(CFG, { seed: 2, std: 0.5 });
    const head = (await model.param("lm_head.weight").data()) as Float32Array;
    const id = model.addAnchorToken({ init: "copy", copyFrom: 29 });
    const d = CFG.dModel;
    const grown = (await model.param("lm_head.weight").data()) as Float32Array;
    expect([...grown.subarray(id * d, (id + 1) * d)]).toEqual([...head.subarray(29 * d, 30 * d)]);
    expect(() => model.addAnchorToken({ init: "copy", copyFrom: 99 })).toThrow(
      /copyFrom must be a token id/,
    );
    model.dispose();
  });
});
