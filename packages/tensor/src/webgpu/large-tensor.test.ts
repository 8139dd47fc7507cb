// Tensors above the adapter's real maxStorageBufferBindingSize (128 MiB on lavapipe): a
// 33000 x 1024 f32 embedding (135 MB) through gather, the lm-head matmul x @ W^T, AdamW and
// elementwise ops, checked against host computations on sampled rows and columns.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as T from "../index";
import { initNodeDevice } from "../node";
import { expectAllClose } from "../testing";
import type { WebGPUDevice } from "./webgpu-device";

let dev: WebGPUDevice;
beforeAll(async () => {
  dev = (await initNodeDevice({ prefer: "webgpu" })) as WebGPUDevice;
});
afterAll(() => dev?.destroy());

const V = 33000;
const D = 1024;
const w = (r: number, c: number) => Math.sin(r * 0.001 + c * 0.013);

describe("tensors above the binding limit", () => {
  it("embedding, lm head, adamw and elementwise on a 135 MB weight", async () => {
    const bytes = V * D * 4;
    expect(bytes).toBeGreaterThan(dev.limits.maxStorageBufferBindingSize);
    const host = new Float32Array(V * D);
    for (let r = 0; r < V; r++) for (let c = 0; c < D; c++) host[r * D + c] = w(r, c);
    const W = T.tensor(host, [V, D]);
    const rows = [0, 16383, 32767, 32999];
    const emb = await T.embedding(W, T.tensor(Int32Array.from(rows), [4])).data();
    rows.forEach((r, i) => {
      expect(emb[i * D + 5]).toBeCloseTo(w(r, 5), 6);
      expect(emb[i * D + 1023]).toBeCloseTo(w(r, 1023), 6);
    });
    // lm head: x [2, D] @ W^T -> [2, V]; check columns in every page
    const x = Float32Array.from({ length: 2 * D }, (_, i) => Math.cos(i * 0.01));
    const logits = await T.matmul(T.tensor(x, [2, D]), W, { transB: true }).data();
    for (const col of [0, 20000, 32768, 32999]) {
      for (let r = 0; r < 2; r++) {
        let s = 0;
        for (let c = 0; c < D; c++) s += (x[r * D + c] as number) * (host[col * D + c] as number);
        expect(logits[r * V + col]).toBeCloseTo(s, 2);
      }
    }
    // elementwise over the whole tensor and AdamW in place (grad = W, zero moments)
    const doubled = T.add(W, W);
    const m = T.zeros([V, D]);
    const v = T.zeros([V, D]);
    T.adamwUpdate(W, doubled, m, v, { lr: 0.5, step: 1 });
    const after = await T.gather(W, 0, T.tensor(Int32Array.from([32999]), [1])).data();
    // first AdamW step moves each weight by lr * sign(grad) (up to eps)
    await expectAllClose(
      after.slice(0, 4),
      [0, 1, 2, 3].map((c) => w(32999, c) - 0.5 * Math.sign(w(32999, c))),
      { rtol: 1e-4, atol: 1e-5 },
    );
    const total = await T.sum(T.gather(doubled, 0, T.tensor(Int32Array.from([32999]), [1]))).item();
    let want = 0;
    for (let c = 0; c < D; c++) want += 2 * w(32999, c);
    expect(total).toBeCloseTo(want, 2);
    T.dispose([W, doubled, m, v]);
  });
});
