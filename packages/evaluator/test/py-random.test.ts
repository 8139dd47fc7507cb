// Golden values produced by CPython 3.11 `random.Random` (see the comment per case).
import { describe, expect, it } from "vitest";
import { PyRandom } from "../src/py-random";

describe("PyRandom matches CPython random.Random", () => {
  it("getrandbits(32) and random() after seed(42)", () => {
    const r = new PyRandom(42);
    expect([0, 1, 2, 3, 4].map(() => r.getrandbits(32))).toEqual([
      2746317213, 478163327, 107420369, 3184935163, 1181241943,
    ]);
    const f = new PyRandom(42);
    expect([f.random(), f.random(), f.random()]).toEqual([
      0.6394267984578837, 0.025010755222666936, 0.27502931836911926,
    ]);
  });

  it("shuffle then sample consume one stream (pool and set paths)", () => {
    // r = random.Random(42); x = list(range(20)); r.shuffle(x); r.sample(range(100), 5); ...
    const r = new PyRandom(42);
    const x = Array.from({ length: 20 }, (_, i) => i);
    r.shuffle(x);
    expect(x).toEqual([19, 5, 14, 4, 9, 13, 15, 18, 6, 12, 17, 10, 1, 11, 2, 16, 7, 8, 0, 3]);
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    expect(r.sample(range(100), 5)).toEqual([71, 25, 91, 83, 89]);
    expect(r.sample(range(10), 5)).toEqual([8, 6, 3, 7, 4]);
    expect(r.sample(range(1000), 7)).toEqual([284, 828, 890, 6, 777, 825, 163]);
    expect(new PyRandom(1234).sample(range(30), 8)).toEqual([24, 14, 3, 0, 2, 18, 1, 21]);
  });

  it("seeds wider than 32 bits use all words", () => {
    const r = new PyRandom(2n ** 40n + 7n);
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual([
      2635837658, 3209733218, 3500038837,
    ]);
  });

  it("rejects bad arguments", () => {
    const r = new PyRandom(0);
    expect(() => r.sample([1, 2], 3)).toThrow(RangeError);
    expect(() => r.randbelow(0)).toThrow(RangeError);
  });
});
