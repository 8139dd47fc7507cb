// The one seeded generator of anllm: mulberry32 (uniforms) + Box-Muller (normals), with a
// JSON-serialisable state so a resumed run draws exactly the numbers the uninterrupted run would.

/** Serialisable state of a SeededRandom: the mulberry32 word and the cached Box-Muller normal. */
export interface SeededRandomState {
  s: number;
  spare: number | null;
}

/** A seeded generator: next() in [0, 1), normal() ~ N(0, 1), int(n) in [0, n), u32() 32 bits. */
export interface SeededRandom {
  next(): number;
  normal(): number;
  int(n: number): number;
  /** Next uniform 32-bit unsigned integer (next() is this / 2^32), e.g. a seed for another generator. */
  u32(): number;
  /** The current state (a copy); seededRandom.fromState continues from it. */
  state(): SeededRandomState;
}

function generator(state: SeededRandomState): SeededRandom {
  let s = state.s;
  let spare = state.spare;
  const u32 = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = () => u32() / 4294967296;
  return {
    next,
    u32,
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
    state: () => ({ s, spare }),
  };
}

/**
 * Deterministic generator from a 32-bit seed.
 * @example
 * const rng = seededRandom(34);
 * const saved = rng.state(); // JSON-serialisable
 * const a = rng.next();
 * seededRandom.fromState(saved).next() === a; // true
 */
export function seededRandom(seed: number): SeededRandom {
  return generator({ s: seed >>> 0, spare: null });
}

/** A generator continuing from a state returned by `state()`. */
seededRandom.fromState = (state: SeededRandomState): SeededRandom => {
  const ok =
    Number.isInteger(state?.s) &&
    state.s >= 0 &&
    state.s < 2 ** 32 &&
    (state.spare === null || Number.isFinite(state.spare));
  if (!ok)
    throw new TypeError(
      `seededRandom.fromState: expected { s: uint32, spare: number | null }, got ${JSON.stringify(state)}`,
    );
  return generator({ s: state.s, spare: state.spare });
};
