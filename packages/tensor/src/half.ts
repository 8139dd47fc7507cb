// Host-side conversions between f32 and the 16-bit weight formats (IEEE F16 and BF16):
// F16 decode through a 65,536-entry table, round-to-nearest-even encodes.
import { F16RangeError } from "./errors";

let f16Table: Float32Array | null = null;

function decodeF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The F16 -> f32 lookup table (built once). */
function table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = decodeF16Bits(h);
  }
  return f16Table;
}

/** Decode IEEE half-precision bits to f32. */
export function f16ToF32(src: Uint16Array): Float32Array<ArrayBuffer> {
  const t = table();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i] as number] as number;
  return out;
}

/** Decode bfloat16 bits to f32 (shift into the high half of an f32). */
export function bf16ToF32(src: Uint16Array): Float32Array<ArrayBuffer> {
  const u = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) u[i] = (src[i] as number) << 16;
  return new Float32Array(u.buffer);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Encode one f32 as IEEE half bits, round to nearest even; overflow -> inf, NaN kept. */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    const m = mant | 0x800000; // implicit leading 1
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent: correct
  return sign | h;
}

/** Encode f32 values as IEEE half bits. */
export function f32ToF16(src: Float32Array): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i] as number);
  return out;
}

/** Largest finite f16 value; anything from 65520 up rounds to inf. */
export const F16_MAX = 65504;

/**
 * Encode f32 values as IEEE half bits, refusing values that would overflow to inf: throws an
 * F16RangeError naming `what`, how many values overflow and the largest. inf and NaN inputs stay
 * what they are (they are not out of range, they already are inf/NaN).
 */
export function f32ToF16Checked(src: ArrayLike<number>, what: string): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(src.length);
  let count = 0;
  let first = -1;
  let maxAbs = 0;
  for (let i = 0; i < src.length; i++) {
    const x = src[i] as number;
    const h = f32ToF16Bits(x);
    if ((h & 0x7fff) === 0x7c00 && Number.isFinite(x)) {
      count++;
      if (first < 0) first = i;
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
    out[i] = h;
  }
  if (count > 0) throw new F16RangeError(what, count, first, maxAbs);
  return out;
}

/** Encode f32 values as bfloat16 bits, round to nearest even; NaN stays NaN. */
export function f32ToBF16(src: Float32Array): Uint16Array<ArrayBuffer> {
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const b = u[i] as number;
    if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) {
      out[i] = (b >>> 16) | 0x40;
      continue;
    }
    const rounded = b + 0x7fff + ((b >>> 16) & 1);
    out[i] = rounded >>> 16;
  }
  return out;
}
