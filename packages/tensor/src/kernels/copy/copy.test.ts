// Strided copy and gather kernels vs reference through the movement ops, with their gradients.
import { describe, expect, it } from "vitest";
import * as T from "../../index";
import { seededRandom } from "../../random";
import {
  describeDevices,
  expectAllClose,
  expectSameAsCpu,
  gradCheck,
  itOnWebGPU,
  seededValues,
} from "../../testing";

const EXACT = { rtol: 0, atol: 0 };

const host = (n: number, seed: number) => seededValues(n, seed);

describeDevices("movement", () => {
  itOnWebGPU("permute / transpose / slice / concat / expand / reshape", async () => {
    await expectSameAsCpu(() => {
      const x = T.tensor(host(2 * 3 * 5 * 7, 1), [2, 3, 5, 7]);
      return [
        T.permute(x, [3, 1, 0, 2]),
        T.transpose(x, 1, -1),
        T.slice(x, 2, 1, 4),
        T.slice(x, -1, -3),
        T.concat([x, T.slice(x, 1, 0, 1)], 1),
        T.expand(T.slice(x, 0, 0, 1), [4, 3, 5, 7]),
        T.reshape(x, [6, -1]),
        T.squeeze(T.unsqueeze(x, 2), 2),
        T.contiguous(x),
      ];
    }, EXACT);
  });

  it("reference values", async () => {
    const x = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(await T.transpose(x, 0, 1).data())).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(await T.slice(x, 1, 1).data())).toEqual([2, 3, 5, 6]);
    expect(Array.from(await T.concat([x, x], 0).data())).toEqual([
      1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6,
    ]);
    expect(Array.from(await T.gather(x, 1, T.tensor(new Int32Array([2, 0]), [2])).data())).toEqual([
      3, 1, 6, 4,
    ]);
    expect(T.expand(T.tensor([1, 2], [2, 1]), [2, 4]).shape).toEqual([2, 4]);
  });

  itOnWebGPU("gather / embedding with repeated and out-of-range ids", async () => {
    await expectSameAsCpu(() => {
      const w = T.tensor(host(11 * 9, 2), [11, 9]);
      const ids = T.tensor(new Int32Array([3, 3, 0, 10, 7, 3, 12, -1]), [2, 4]);
      return [T.embedding(w, ids), T.gather(w, 1, T.tensor(new Int32Array([8, 0, 8]), [3]))];
    }, EXACT);
  });

  it("embedding gradient scatter-adds repeated ids", async () => {
    const w = T.param(T.zeros([5, 3]));
    const ids = T.tensor(new Int32Array([1, 1, 4, 1]), [4]);
    const g = T.tensor(host(12, 3), [4, 3]);
    T.backward(T.sum(T.mul(T.embedding(w, ids), g)));
    const gv = await g.data();
    const expected = new Float32Array(15);
    [1, 1, 4, 1].forEach((id, i) => {
      for (let e = 0; e < 3; e++)
        expected[id * 3 + e] = (expected[id * 3 + e] as number) + (gv[i * 3 + e] as number);
    });
    await expectAllClose(w.grad as T.Tensor, expected, { rtol: 1e-5, atol: 1e-6 });
  });

  itOnWebGPU(
    "embedding gradient is deterministic and bit-equal to the sequential CPU sums",
    async () => {
      // many repeats of few ids: an atomic scatter-add would sum them in a different order each run
      const r = seededRandom(4);
      const idsHost = Int32Array.from(
        { length: 700 },
        () => Math.floor(r.next() * 5) - (r.next() < 0.05 ? 9 : 0),
      );
      const gradOf = () => {
        const w = T.param(T.zeros([6, 33]));
        const ids = T.tensor(idsHost, [7, 100]);
        const g = T.tensor(host(700 * 33, 5), [7, 100, 33]);
        T.backward(T.sum(T.mul(T.embedding(w, ids), g)));
        return w.grad as T.Tensor;
      };
      await expectSameAsCpu(gradOf, EXACT);
      const first = Array.from(await gradOf().data());
      for (let run = 0; run < 3; run++) expect(Array.from(await gradOf().data())).toEqual(first);
    },
  );

  it("int dtypes move bit-exactly", async () => {
    const x = T.tensor(new Int32Array([2 ** 31 - 1, -(2 ** 31), 5, 6]), [2, 2]);
    expect(Array.from(await T.transpose(x, 0, 1).data())).toEqual([2 ** 31 - 1, 5, -(2 ** 31), 6]);
  });
});

describe("movement gradients", () => {
  const x = host(2 * 3 * 4, 5);
  const shapes = [[2, 3, 4]];
  it("permute, slice, concat, expand, reshape", async () => {
    await gradCheck((t) => T.permute(t, [2, 0, 1]), [x], { shapes });
    await gradCheck((t) => T.slice(t, 2, 1, 3), [x], { shapes });
    await gradCheck((t) => T.concat([t, T.slice(t, 1, 1, 2)], 1), [x], { shapes });
    await gradCheck((t) => T.expand(T.slice(t, 0, 0, 1), [3, 3, 4]), [x], { shapes });
    await gradCheck((t) => T.reshape(t, [4, 6]), [x], { shapes });
  });
  it("gather and embedding", async () => {
    const ids = T.tensor(new Int32Array([2, 0, 2]), [3], { device: new T.CpuDevice() });
    await gradCheck((t, i) => T.gather(t as T.Tensor, 1, i as T.Tensor), [x, ids], { shapes });
    await gradCheck(
      (t, i) => T.embedding(T.reshape(t as T.Tensor, [6, 4]), i as T.Tensor),
      [x, ids],
      { shapes },
    );
  });
});
