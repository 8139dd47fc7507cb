// Matmul kernel vs reference: odd sizes, tile padding, transposed operands, broadcast batches,
// every tiling variant; plus gradient checks for all transpose combinations.
import { describe, expect, it } from "vitest";
import * as T from "../../index";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  gradCheck,
  itOnWebGPU,
  seededValues,
} from "../../testing";
import { GPU_TILING, SOFTWARE_TILING } from "./matmul.wgsl";

const matmulTol = (K: number) => ({ rtol: 1e-4 * Math.sqrt(K), atol: 1e-4 * Math.sqrt(K) });

const host = (n: number, seed: number) => seededValues(n, seed);

function naive(a: Float32Array, b: Float32Array, M: number, K: number, N: number): Float32Array {
  const c = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (a[i * K + k] as number) * (b[k * N + j] as number);
      c[i * N + j] = s;
    }
  return c;
}

describeDevices("matmul", () => {
  it("matches a naive triple loop", async () => {
    for (const [M, K, N] of [
      [1, 1, 1],
      [3, 5, 7],
      [33, 17, 65],
      [64, 64, 64],
      [129, 31, 5],
    ]) {
      const a = host(M * K, M);
      const b = host(K * N, N);
      await expectAllClose(
        T.matmul(T.tensor(a, [M, K]), T.tensor(b, [K, N])),
        naive(a, b, M, K, N),
        matmulTol(K),
      );
    }
  });

  itOnWebGPU("transposed operands, read in place", async () => {
    for (const [M, K, N] of [
      [5, 9, 3],
      [37, 20, 70],
    ]) {
      for (const [tA, tB] of [
        [false, true],
        [true, false],
        [true, true],
      ]) {
        await expectSameAsCpu(() => {
          const a = T.tensor(host(M * K, 1), tA ? [K, M] : [M, K]);
          const b = T.tensor(host(K * N, 2), tB ? [N, K] : [K, N]);
          return T.matmul(a, b, { transA: tA, transB: tB });
        }, matmulTol(K));
        const a = T.tensor(host(M * K, 1), tA ? [K, M] : [M, K]);
        const b = T.tensor(host(K * N, 2), tB ? [N, K] : [K, N]);
        const viaCopy = T.matmul(tA ? T.transpose(a, 0, 1) : a, tB ? T.transpose(b, 0, 1) : b);
        await expectAllClose(T.matmul(a, b, { transA: tA, transB: tB }), viaCopy, matmulTol(K));
      }
    }
  });

  itOnWebGPU("batched with broadcast batch dims", async () => {
    await expectSameAsCpu(() => {
      const a = T.tensor(host(2 * 3 * 5 * 4, 3), [2, 3, 5, 4]);
      const b = T.tensor(host(3 * 4 * 6, 4), [3, 4, 6]);
      const c = T.tensor(host(4 * 7, 5), [4, 7]);
      return [
        T.matmul(a, b),
        T.matmul(a, c),
        T.matmul(T.tensor(host(4 * 6, 6), [1, 4, 6]), b, { transA: true }),
      ];
    }, matmulTol(6));
    expect(T.matmul(T.zeros([2, 1, 3, 4]), T.zeros([5, 4, 2])).shape).toEqual([2, 5, 3, 2]);
  });

  itOnWebGPU("every tiling variant agrees", async () => {
    const [M, K, N] = [45, 33, 77];
    for (const tiling of [SOFTWARE_TILING, GPU_TILING, { tm: 1, tn: 1, wx: 16, wy: 4 }]) {
      for (const [tA, tB] of [
        [false, false],
        [false, true],
        [true, false],
      ]) {
        await expectSameAsCpu(() => {
          const a = T.tensor(host(M * K, 7), tA ? [K, M] : [M, K]);
          const b = T.tensor(host(K * N, 8), tB ? [N, K] : [K, N]);
          return T.matmul(a, b, { transA: tA, transB: tB, tiling });
        }, matmulTol(K));
      }
    }
  });

  itOnWebGPU("vectorised variants (N % 4 == 0 or K % 4 == 0) with odd M and K", async () => {
    for (const [M, K, N, tA, tB] of [
      [45, 33, 76, false, false],
      [45, 33, 76, true, false],
      [19, 36, 23, false, true],
      [1, 4, 4, false, true],
    ] as const) {
      await expectSameAsCpu(() => {
        const a = T.tensor(host(M * K, 11), tA ? [K, M] : [M, K]);
        const b = T.tensor(host(K * N, 12), tB ? [N, K] : [K, N]);
        return [
          T.matmul(a, b, { transA: tA, transB: tB }),
          T.matmul(T.reshape(a, [1, ...a.shape]), T.reshape(b, [1, ...b.shape]), {
            transA: tA,
            transB: tB,
          }),
        ];
      }, matmulTol(K));
    }
  });

  it("256 x 256 x 256", async () => {
    const a = host(256 * 256, 9);
    const b = host(256 * 256, 10);
    await expectAllClose(
      T.matmul(T.tensor(a, [256, 256]), T.tensor(b, [256, 256])),
      naive(a, b, 256, 256, 256),
      matmulTol(256),
    );
  });
});

describe("matmul gradients", () => {
  for (const [tA, tB] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`transA=${tA} transB=${tB}`, async () => {
      const [M, K, N] = [3, 4, 5];
      await gradCheck(
        (a, b) => T.matmul(a as T.Tensor, b as T.Tensor, { transA: tA, transB: tB }),
        [host(M * K, 1), host(K * N, 2)],
        {
          shapes: [tA ? [K, M] : [M, K], tB ? [N, K] : [K, N]],
        },
      );
    });
  }
  it("a weight shared across batch dims (x @ W^T with x [2, 2, 3, 4], W [5, 4])", async () => {
    await gradCheck(
      (a, b) => T.matmul(a as T.Tensor, b as T.Tensor, { transB: true }),
      [host(2 * 2 * 3 * 4, 5), host(5 * 4, 6)],
      {
        shapes: [
          [2, 2, 3, 4],
          [5, 4],
        ],
      },
    );
  });
  it("broadcast batch", async () => {
    await gradCheck(
      (a, b) => T.matmul(a as T.Tensor, b as T.Tensor),
      [host(2 * 3 * 4, 3), host(4 * 2, 4)],
      {
        shapes: [
          [2, 3, 4],
          [4, 2],
        ],
      },
    );
  });
});
