// ModelBatch semantics: packed documents equal separate rows, right padding and -100 labels are
// ignored by the loss, bad batches are rejected with the field named, tied heads save/load.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initDevice, noGrad } from "@anllm/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import { Llama2, ModelInputError, PRESETS, shiftedTargets } from "../src/index";
import { loadModel, saveModel } from "../src/node";
import { relError } from "./helpers";

const CFG = { ...PRESETS.tiny, vocabSize: 40 };
const A = 7;
const flags = (ids: Int32Array) => Uint8Array.from(ids, (t) => +(t === A));

beforeAll(async () => {
  await initDevice({ prefer: "cpu" });
});

async function logitsOf(model: Llama2, ids: Int32Array) {
  const t = model.forward({
    inputIds: ids,
    isAnchor: flags(ids),
    batch: 1,
    seqLen: ids.length,
    attention: "anchor",
  });
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

describe("ModelBatch", () => {
  it("packing: two documents in one row give each document's own logits", async () => {
    const model = Llama2.init(CFG, { seed: 5, std: 0.3 });
    const a = Int32Array.of(1, 9, A, 12, 13);
    const b = Int32Array.of(1, 20, 21, A, 22, 23);
    const row = Int32Array.from([...a, ...b]);
    const documentIds = Int32Array.from([...a].map(() => 0).concat([...b].map(() => 1)));
    const t = model.forward({
      inputIds: row,
      isAnchor: flags(row),
      documentIds,
      batch: 1,
      seqLen: row.length,
      attention: "anchor",
    });
    const packed = (await t.data()) as Float32Array;
    t.dispose();
    const V = CFG.vocabSize;
    expect(relError(packed.subarray(0, a.length * V), await logitsOf(model, a))).toBeLessThan(1e-5);
    expect(relError(packed.subarray(a.length * V), await logitsOf(model, b))).toBeLessThan(1e-5);
    model.dispose();
  });

  it("loss ignores right padding and -100 labels; targets never cross documents", async () => {
    const model = Llama2.init(CFG, { seed: 6, std: 0.3 });
    const ids = Int32Array.of(1, 9, 10, A, 12, 13);
    const single = {
      inputIds: ids,
      isAnchor: flags(ids),
      batch: 1,
      seqLen: 6,
      attention: "anchor" as const,
    };
    const padded = Int32Array.of(...ids, 0, 0, 0, ...ids, 0, 0, 0);
    const loss1 = await noGrad(() => model.loss(single)).item();
    const loss2 = await noGrad(() =>
      model.loss({
        inputIds: padded,
        isAnchor: flags(padded),
        batch: 2,
        seqLen: 9,
        attention: "anchor",
        lengths: Int32Array.of(6, 6),
      }),
    ).item();
    expect(loss2).toBeCloseTo(loss1, 5);
    const labels = Int32Array.from(ids);
    labels[5] = -100;
    const t = shiftedTargets({ ...single, labels }, new Uint8Array(6).fill(1));
    expect([...t]).toEqual([9, 10, A, 12, -100, -100]);
    const docs = shiftedTargets(
      { ...single, documentIds: Int32Array.of(0, 0, 0, 1, 1, 1) },
      new Uint8Array(6).fill(1),
    );
    expect([...docs]).toEqual([9, 10, -100, 12, 13, -100]);
    model.dispose();
  });

  it("rejects bad batches naming the field", () => {
    const model = Llama2.init(CFG, { seed: 1 });
    const ids = Int32Array.of(1, 2, 3);
    expect(() =>
      model.forward({ inputIds: ids, batch: 1, seqLen: 3, attention: "anchor" }),
    ).toThrow(/isAnchor is required/);
    expect(() =>
      model.forward({
        inputIds: Int32Array.of(1, 99, 3),
        batch: 1,
        seqLen: 3,
        attention: "causal",
      }),
    ).toThrow(/inputIds\[1\] = 99 is outside \[0, 40\)/);
    expect(() =>
      model.forward({ inputIds: ids, batch: 2, seqLen: 3, attention: "causal" }),
    ).toThrow(ModelInputError);
    model.dispose();
  });

  it("tied embeddings: no lm_head tensor; save/load round trip keeps logits", async () => {
    const model = Llama2.init({ ...CFG, tieWordEmbeddings: true }, { seed: 2, std: 0.3 });
    expect(model.parameters().has("lm_head.weight")).toBe(false);
    const ids = Int32Array.of(1, 5, A, 6);
    const before = await logitsOf(model, ids);
    const dir = await mkdtemp(join(tmpdir(), "llama2-tied-"));
    await saveModel(model, dir);
    const back = await loadModel(dir);
    expect(back.config.tieWordEmbeddings).toBe(true);
    expect(relError(await logitsOf(back, ids), before)).toBe(0);
    back.dispose();
    model.dispose();
  });
});
