// In-place row ops (writeRowsInPlace over the copy kernel, compactRowsInPlace over its own kernel)
// against plain host loops, bit-exact, on both devices.
import { expect, it } from "vitest";
import * as T from "../../index";
import { describeDevices, seededValues } from "../../testing";

const host = (n: number, seed: number) => seededValues(n, seed);

/** Reference: x [batch, mid, rows, inner] with each entry's rows replaced by f(b, rows). */
function perRows(
  x: Float32Array,
  [batch, mid, rows, inner]: number[],
  f: (b: number, m: number, row: (i: number) => Float32Array) => Float32Array[],
): Float32Array {
  const out = x.slice();
  for (let b = 0; b < (batch as number); b++) {
    for (let m = 0; m < (mid as number); m++) {
      const base = (b * (mid as number) + m) * (rows as number) * (inner as number);
      const row = (i: number) =>
        x.slice(base + i * (inner as number), base + (i + 1) * (inner as number));
      f(b, m, row).forEach((r, i) => {
        out.set(r, base + i * (inner as number));
      });
    }
  }
  return out;
}

describeDevices("rows in place", () => {
  it("writeRowsInPlace writes each entry's rows at its own offset, leaving the rest", async () => {
    const shape = [3, 2, 9, 5];
    const dstHost = host(3 * 2 * 9 * 5, 1);
    const srcHost = host(3 * 2 * 4 * 5, 2);
    const dst = T.tensor(dstHost, shape);
    const src = T.tensor(srcHost, [3, 2, 4, 5]);
    const at = [0, 5, 2];
    const count = [4, 4, 0];
    T.writeRowsInPlace(dst, src, at, count);
    const want = perRows(dstHost, shape, (b, m, row) => {
      const rows = Array.from({ length: 9 }, (_, i) => row(i));
      for (let t = 0; t < (count[b] as number); t++) {
        const o = ((b * 2 + m) * 4 + t) * 5;
        rows[(at[b] as number) + t] = srcHost.slice(o, o + 5);
      }
      return rows;
    });
    expect([...(await dst.data())]).toEqual([...want]);
    expect(() => T.writeRowsInPlace(dst, src, [6, 0, 0])).toThrow(/exceed capacity 9/);
    expect(() => T.writeRowsInPlace(dst, dst, [0, 0, 0])).toThrow(/share storage/);
    dst.dispose();
    src.dispose();
  });

  it("compactRowsInPlace moves kept rows to the front, in order, per entry", async () => {
    const shape = [3, 2, 12, 7];
    const xHost = host(3 * 2 * 12 * 7, 3);
    const keep = [
      [0, 1, 4, 5, 6, 11], // overlapping forward moves
      [0, 1, 2, 3], // identity: untouched
      [9, 10, 11], // a tail moved to the front (source and target do not overlap)
    ];
    const x = T.tensor(xHost, shape);
    T.compactRowsInPlace(x, keep);
    const want = perRows(xHost, shape, (b, _m, row) => (keep[b] as number[]).map((k) => row(k)));
    expect([...(await x.data())]).toEqual([...want]);
    expect(() => T.compactRowsInPlace(x, [[1, 1], [], []])).toThrow(/must increase/);
    x.dispose();
  });

  it("compactRowsInPlace with one list per (entry, head) slice keeps each slice's own rows", async () => {
    // a cache whose heads keep different rows (H2O per head): [batch 2, heads 3, rows 10, 4], f32
    // and f16 (raw words moved)
    const shape = [2, 3, 10, 4];
    const keep = [
      [0, 2, 5, 9],
      [1, 2, 3, 4],
      [0, 1, 2, 3], // identity slice inside a moving entry
      [6, 7, 8, 9],
      [0, 3, 8, 9],
      [2, 4, 6, 8],
    ];
    for (const dtype of ["f32", "f16"] as const) {
      const xHost = host(2 * 3 * 10 * 4, 6);
      const x = T.tensor(xHost, shape, { dtype });
      const before = Float32Array.from(await x.data());
      T.compactRowsInPlace(x, keep);
      const want = perRows(before, shape, (b, m, row) =>
        (keep[b * 3 + m] as number[]).map((k) => row(k)),
      );
      expect([...(await x.data())], dtype).toEqual([...want]);
      x.dispose();
    }
    const x = T.zeros(shape);
    expect(() => T.compactRowsInPlace(x, [[0], [0], [0], [0]])).toThrow(
      /keep has 4 lists, expected batch 2 or batch x mid 6/,
    );
    expect(() => T.compactRowsInPlace(x, [[0], [0], [0], [0], [2, 1], [0]])).toThrow(
      /keep\[4\] must increase/,
    );
    x.dispose();
  });

  it("a cache step sequence: write, compact, write again equals gather + concat", async () => {
    const x = T.zeros([1, 2, 8, 3]);
    const a = T.tensor(host(2 * 5 * 3, 4), [1, 2, 5, 3]);
    const b = T.tensor(host(2 * 3 * 3, 5), [1, 2, 3, 3]);
    T.writeRowsInPlace(x, a, [0]);
    T.compactRowsInPlace(x, [[2, 4]]);
    T.writeRowsInPlace(x, b, [2]);
    const idx = T.tensor(Int32Array.of(2, 4), [2], { dtype: "i32" });
    const ref = T.concat([T.gather(a, 2, idx), b], 2);
    const got = (await x.data()).slice(0, 2 * 8 * 3);
    const r = await ref.data();
    for (let h = 0; h < 2; h++)
      expect([...got.slice(h * 24, h * 24 + 15)]).toEqual([...r.slice(h * 15, (h + 1) * 15)]);
    for (const t of [x, a, b, idx, ref]) t.dispose();
  });
});
