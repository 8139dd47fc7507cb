// F16 / BF16 conversions: exhaustive F16 round trip and rounding edge cases.
import { describe, expect, it } from "vitest";
import { bf16ToF32, f16ToF32, f32ToBF16, f32ToF16 } from "./half";

describe("half precision", () => {
  it("every finite F16 value round-trips through f32", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToF16(f16ToF32(all));
    for (let h = 0; h < 65536; h++) {
      const nanBits = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      const b = back[h] as number;
      if (nanBits) expect((b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0).toBe(true);
      else expect(back[h]).toBe(h);
    }
  });

  it("rounds to nearest even and overflows to infinity", () => {
    const x = new Float32Array([
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      65520,
      1e-8,
      2 ** -25,
      3 * 2 ** -26,
    ]);
    expect([...f16ToF32(f32ToF16(x))]).toEqual([
      1,
      1 + 2 ** -9,
      Number.POSITIVE_INFINITY,
      0,
      0,
      2 ** -24,
    ]);
  });

  it("BF16 round trip and round-to-nearest-even", () => {
    const x = new Float32Array([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, Number.NaN]);
    const y = bf16ToF32(f32ToBF16(x));
    expect([...y.slice(0, 4)]).toEqual([1, -2.5, 1, 1 + 2 ** -6]);
    expect(Number.isNaN(y[4])).toBe(true);
  });
});
