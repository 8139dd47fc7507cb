// The kernel variants meant for hardware GPUs (workgroup-tree rows and reductions, GPU matmul
// tilings) checked against the CPU reference: forced on this adapter, which otherwise runs the
// software variants.
import { afterAll, beforeAll, describe, it } from "vitest";
import * as T from "../index";
import { initNodeDevice } from "../node";
import { expectSameAsCpu, seededValues } from "../testing";
import type { WebGPUDevice } from "./webgpu-device";

let dev: WebGPUDevice;
beforeAll(async () => {
  dev = (await initNodeDevice({ prefer: "webgpu", variants: "hardware" })) as WebGPUDevice;
});
afterAll(() => dev?.destroy());

const host = (n: number, seed: number) => seededValues(n, seed, 2);

describe("hardware kernel variants", () => {
  it("row kernels and reductions (workgroup trees)", async () => {
    await expectSameAsCpu(
      () => {
        const x = T.param(T.tensor(host(7 * 301, 1), [7, 301]));
        const w = T.param(T.tensor(host(301, 2), [301]));
        const y = T.rmsNorm(x, w);
        const s = T.softmax(x);
        const ls = T.logSoftmax(x);
        const ce = T.crossEntropy(x, T.tensor(new Int32Array([0, 300, 5, -100, 7, 8, 9]), [7]));
        T.backward(T.add(T.add(T.sum(T.mul(y, s)), T.sum(ls)), ce));
        const big = T.tensor(host(70000, 3), [70000]);
        return [
          y,
          s,
          ls,
          ce,
          x.grad as T.Tensor,
          w.grad as T.Tensor,
          T.sum(x, 0),
          T.max(x, 1),
          T.cast(T.argmax(x, 1), "f32"),
          T.sum(big),
          T.max(big),
        ];
      },
      { rtol: 1e-4, atol: 1e-4 },
    );
  });

  it("GPU matmul tilings, scalar and vectorised", async () => {
    for (const [M, K, N, tA, tB] of [
      [45, 33, 76, false, false],
      [45, 33, 76, true, false],
      [19, 36, 23, false, true],
      [33, 17, 65, false, false],
      [37, 20, 70, true, true],
    ] as const) {
      await expectSameAsCpu(
        () => {
          const a = T.tensor(host(M * K, 4), tA ? [K, M] : [M, K]);
          const b = T.tensor(host(K * N, 5), tB ? [N, K] : [K, N]);
          return T.matmul(a, b, { transA: tA, transB: tB });
        },
        { rtol: 1e-3, atol: 1e-3 },
      );
    }
  });

  it("attention forward and backward, one row per invocation (GQA, odd lengths)", async () => {
    const [B, H, KV, L, D] = [2, 4, 2, 13, 16];
    await expectSameAsCpu(
      () => {
        const q = T.param(T.tensor(host(B * H * L * D, 6), [B, H, L, D]));
        const k = T.param(T.tensor(host(B * KV * L * D, 7), [B, KV, L, D]));
        const v = T.param(T.tensor(host(B * KV * L * D, 8), [B, KV, L, D]));
        const mask = T.makeAttentionMask({ batch: B, lq: L, mode: "causal" });
        const o = T.attention(q, k, v, mask);
        T.backward(T.sum(T.mul(o, T.tensor(host(B * H * L * D, 9), [B, H, L, D]))));
        return [o, q.grad as T.Tensor, k.grad as T.Tensor, v.grad as T.Tensor];
      },
      { rtol: 1e-4, atol: 1e-4 },
    );
  });
});
