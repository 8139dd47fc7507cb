// Seeded pseudo-random numbers (mulberry32 + Box-Muller) so tests and inits are reproducible.

/** A seeded generator: next() in [0, 1), normal() ~ N(0, 1), int(n) in [0, n). */
export interface SeededRandom {
  next(): number;
  normal(): number;
  int(n: number): number;
}

/** Deterministic generator from a 32-bit seed. */
export function seededRandom(seed: number): SeededRandom {
  let s = seed >>> 0;
  let spare: number | null = null;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    normal() {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int: (n) => Math.floor(next() * n),
  };
}
