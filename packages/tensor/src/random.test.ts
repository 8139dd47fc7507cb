// The seeded generator: the mulberry32 stream is fixed (seeds in data and tests depend on it),
// state() / fromState resume it exactly (mid Box-Muller pair included), through JSON too.
import { describe, expect, it } from "vitest";
import { seededRandom } from "./random";

describe("seededRandom", () => {
  it("draws the fixed mulberry32 stream", () => {
    const r = seededRandom(1);
    expect([r.u32(), r.u32(), r.u32()]).toEqual([2693262067, 11749833, 2265367787]);
    const f = seededRandom(1);
    expect(f.next()).toBe(2693262067 / 2 ** 32);
    const ints = Array.from({ length: 1000 }, () => f.int(10));
    expect(Math.min(...ints)).toBe(0);
    expect(Math.max(...ints)).toBe(9);
  });

  it("resumes from a saved state, through JSON, between the two normals of a pair", () => {
    const r = seededRandom(34);
    r.next();
    r.normal(); // leaves the pair's second normal cached
    const saved = JSON.parse(JSON.stringify(r.state()));
    const rest = [r.normal(), r.next(), r.int(1000), r.normal(), r.u32()];
    const c = seededRandom.fromState(saved);
    expect([c.normal(), c.next(), c.int(1000), c.normal(), c.u32()]).toEqual(rest);
    expect(r.state()).toEqual(c.state());
  });

  it("rejects a malformed state", () => {
    expect(() => seededRandom.fromState({ s: -1, spare: null })).toThrow(TypeError);
    expect(() => seededRandom.fromState({ s: 1.5, spare: null })).toThrow(/uint32/);
    expect(() => seededRandom.fromState({ s: 3, spare: Number.NaN })).toThrow(TypeError);
  });
});
