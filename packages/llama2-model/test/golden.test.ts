// Golden test: the tiny random GQA model, loaded from F16 safetensors shards, must reproduce the
// numpy float64 HF-Llama logits (fixtures/make_fixtures.py) within 1e-4 relative, on CPU and WebGPU.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeDevices } from "@anllm/tensor/testing";
import { expect, it } from "vitest";
import { loadModel, saveModel } from "../src/node";
import { batchOf, FIXTURES, type FixtureCase, fixtures, relError } from "./helpers";

const DIR = join(FIXTURES, "tiny-gqa");

describeDevices("golden logits vs numpy HF Llama", (getDevice) => {
  it("loads F16 shards and matches every fixture case within 1e-4 relative", async () => {
    const model = await loadModel(DIR, { device: getDevice() });
    expect(model.config.nKvHeads).toBeLessThan(model.config.nHeads);
    for (const c of fixtures.cases) {
      const logits = model.forward(batchOf(c));
      expect(logits.shape).toEqual([c.batch, c.seqLen, model.config.vocabSize]);
      const err = relError(await logits.data(), c.logits);
      logits.dispose();
      expect(err, c.name).toBeLessThan(1e-4);
    }
    model.dispose();
  });

  it("right padding: a padded row gives the unpadded logits", async () => {
    const model = await loadModel(DIR, { device: getDevice() });
    const full = fixtures.cases.find((c) => c.name === "anchor") as FixtureCase;
    const short = fixtures.cases.find((c) => c.name === "anchor-short") as FixtureCase;
    const L = full.seqLen;
    const ids = new Int32Array(2 * L);
    ids.set(full.inputIds.slice(0, L), 0);
    ids.set(short.inputIds, L);
    const isAnchor = new Uint8Array(2 * L);
    isAnchor.set(full.isAnchor.slice(0, L), 0);
    isAnchor.set(short.isAnchor, L);
    const logits = model.forward({
      inputIds: ids,
      isAnchor,
      batch: 2,
      seqLen: L,
      attention: "anchor",
      lengths: Int32Array.of(L, short.seqLen),
    });
    const data = await logits.data();
    const V = model.config.vocabSize;
    expect(relError(data.subarray(0, L * V), full.logits.slice(0, L * V))).toBeLessThan(1e-4);
    expect(relError(data.subarray(L * V, (L + short.seqLen) * V), short.logits)).toBeLessThan(1e-4);
    logits.dispose();
    model.dispose();
  });

  it("save f32 / f16 / bf16 and reload: logits preserved", async () => {
    const model = await loadModel(DIR, { device: getDevice() });
    const c = fixtures.cases[1] as FixtureCase;
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const dir = await mkdtemp(join(tmpdir(), "llama2-save-"));
      await saveModel(model, dir, { dtype, maxShardBytes: 30_000 });
      const back = await loadModel(dir, { device: getDevice() });
      const logits = back.forward(batchOf(c));
      const err = relError(await logits.data(), c.logits);
      // f16 storage is lossless here (the fixture weights are F16); bf16 drops 3 mantissa bits
      expect(err, dtype).toBeLessThan(dtype === "bf16" ? 5e-2 : 1e-4);
      logits.dispose();
      back.dispose();
    }
    model.dispose();
  });
});
