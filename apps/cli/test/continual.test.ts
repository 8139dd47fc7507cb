// The continual pre-training path (paper §3): a full-attention base folder is loaded, `<AC>` rows
// are added to the embedding and the head with the mean of the base's rows, training with the AC
// anchor mask lowers the loss, and the saved checkpoint reloads and scores exactly as the model
// that was trained. CPU device (the WebGPU path of the same training is covered by demo.test.ts).

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaScorer } from "@anllm/evaluator";
import { encodeDocument } from "@anllm/redpajama-loader";
import { describe, expect, it } from "vitest";
import type { TrainConfig } from "../src/commands/train-config";
import { captureIo } from "../src/io";
import { ensureDevice } from "../src/wiring/device";
import { type LoadedModel, loadModelDir } from "../src/wiring/model";
import { buildModel, runTraining } from "../src/wiring/run-training";
import { cli, TINY_TRAIN } from "./helpers";

process.env.ANLLM_DEVICE = "cpu";

const EMBED = "model.embed_tokens.weight";
const HEAD = "lm_head.weight";

async function rows(l: LoadedModel, name: string): Promise<Float32Array> {
  return (await l.model.param(name).data()) as Float32Array;
}

/** Mean over the rows of a [vocab, d] matrix. */
function rowMean(w: Float32Array, vocab: number, d: number): Float64Array {
  const m = new Float64Array(d);
  for (let r = 0; r < vocab; r++) for (let j = 0; j < d; j++) m[j]! += w[r * d + j]! / vocab;
  return m;
}

describe("continual pre-training of a full-attention base with AC anchors", () => {
  it("adds <AC> with the mean rows, lowers the loss, and the saved model scores the same", async () => {
    await ensureDevice(captureIo());
    const dir = mkdtempSync(join(tmpdir(), "anllm-continual-"));
    const baseRun = join(dir, "base");
    const pre = await cli(
      "train",
      ...TINY_TRAIN,
      "--anchor",
      "none",
      "--seq-len",
      "48",
      "--steps",
      "20",
      "--lr",
      "1e-2",
      "--out",
      baseRun,
    );
    expect(pre.code, pre.stderr).toBe(0);
    const base = await loadModelDir("test", baseRun);
    expect(base.anchorMode).toBe("none");
    const V = base.model.config.vocabSize;
    const d = base.model.config.dModel;
    const [baseEmbed, baseHead] = [await rows(base, EMBED), await rows(base, HEAD)];

    const cfg: TrainConfig = {
      ...(JSON.parse(readFileSync(join(baseRun, "train-config.json"), "utf8")) as TrainConfig),
      model: baseRun,
      tokenizer: "from-model",
      anchor: "ac",
      acInit: "mean",
      steps: 16,
      lr: 5e-3,
      warmup: 2,
      schedule: "constant",
      out: join(dir, "ac"),
    };
    // the continual path's model: the base with one <AC> row, initialised to the mean row
    const start = await buildModel(cfg);
    expect(start.anchorMode).toBe("ac");
    expect(start.anchors.ids).toEqual([V]);
    expect(start.model.config.vocabSize).toBe(V + 1);
    const [embed, head] = [await rows(start, EMBED), await rows(start, HEAD)];
    // the base's rows are unchanged, the new row is their mean (input embedding and head)
    expect(embed.subarray(0, V * d)).toEqual(baseEmbed);
    expect(head.subarray(0, V * d)).toEqual(baseHead);
    const [me, mh] = [rowMean(baseEmbed, V, d), rowMean(baseHead, V, d)];
    for (let j = 0; j < d; j++) {
      expect(embed[V * d + j]).toBeCloseTo(me[j]!, 6);
      expect(head[V * d + j]).toBeCloseTo(mh[j]!, 6);
    }
    start.model.dispose();

    const run = await runTraining(cfg, captureIo(), { resume: false, progress: "none" });
    expect(run.loaded.model.config.vocabSize).toBe(V + 1);
    const losses = run.metrics.map((m) => m.loss);
    expect(losses).toHaveLength(16);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)));

    // the checkpoint reloads (with its anllm.json: AC, the same anchor id) and scores identically
    const saved = await loadModelDir("test", cfg.out);
    expect(saved.anchorMode).toBe("ac");
    expect(saved.anchors.ids).toEqual([V]);
    const text = "And it came to pass. The king spake unto the people. And they went.";
    const ids = encodeDocument(text, saved.tokenizer, saved.anchors).ids;
    expect([...ids]).toContain(V);
    const score = async (l: LoadedModel, attention: "causal" | "anchor") =>
      (
        await new LlamaScorer(l.model, { maxLength: 128 }).scoreSequences([ids], {
          attention,
          anchorIds: l.anchors.ids,
        })
      )[0]!.logprobs;
    for (const attention of ["causal", "anchor"] as const) {
      const [a, b] = [await score(run.loaded, attention), await score(saved, attention)];
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    base.model.dispose();
    saved.model.dispose();
    run.loaded.model.dispose();
  });
});
