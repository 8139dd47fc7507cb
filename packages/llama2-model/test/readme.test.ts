// The README example, run as written (CPU device): forward, loss + backward, anchor generation, save.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backward, initDevice } from "@anllm/tensor";
import { expect, it } from "vitest";
import { generate } from "../src/index";
import { loadModel, saveModel } from "../src/node";
import { FIXTURES } from "./helpers";

it("README example runs", async () => {
  await initDevice({ prefer: "cpu" });
  const model = await loadModel(join(FIXTURES, "tiny-gqa"));
  const ids = Int32Array.of(1, 9, 23, 7, 40, 41, 7, 5); // 7 = an anchor id in this example
  const isAnchor = Uint8Array.from(ids, (t) => +(t === 7));
  const batch = { inputIds: ids, isAnchor, batch: 1, seqLen: 8, attention: "anchor" as const };
  const logits = model.forward(batch);
  const loss = model.loss(batch);
  backward(loss); // grads on every model.parameters() entry
  const out = await generate(model, [ids], {
    maxNewTokens: 16,
    cache: "anchor",
    anchorIds: [7],
    seed: 1,
    temperature: 0.8,
  });
  const s = out.stats; // entries now / peak / full, bytes
  const reduction = 1 - (s.peakEntries[0] ?? 0) / (s.fullEntries[0] ?? 1);
  await saveModel(model, await mkdtemp(join(tmpdir(), "readme-")), { dtype: "bf16" });
  expect(logits.shape).toEqual([1, 8, 64]);
  expect(model.param("lm_head.weight").grad?.shape).toEqual([64, 32]);
  expect(out.tokens[0]?.length).toBeGreaterThan(0);
  expect(reduction).toBeGreaterThanOrEqual(0);
  model.dispose();
});
