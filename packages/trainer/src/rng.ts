// Seeded, serialisable random numbers (xoshiro128** seeded by splitmix32): the trainer keeps one
// generator per run, hands it to the loss closure and stores its state in every checkpoint, so a
// resumed run draws exactly the numbers the uninterrupted run would have drawn.

/** Four 32-bit words; JSON-serialisable state of an {@link Rng}. */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** generator with an exportable state.
 * @example
 * const rng = Rng.fromSeed(34);
 * const saved = rng.state();
 * const a = rng.next();
 * Rng.fromState(saved).next() === a; // true
 */
export class Rng {
  private s: Uint32Array;

  private constructor(state: ArrayLike<number>) {
    this.s = Uint32Array.from(state);
    if (this.s.length !== 4 || this.s.every((w) => w === 0)) {
      throw new Error("Rng state must be 4 words, not all zero");
    }
  }

  /** A generator seeded from an integer (any 32-bit value). */
  static fromSeed(seed: number): Rng {
    const next = splitmix32(seed);
    return new Rng([next(), next(), next(), next()]);
  }

  /** A generator continuing from a state returned by {@link Rng.state}. */
  static fromState(state: RngState): Rng {
    return new Rng(state);
  }

  /** The current state (copy), for checkpoints. */
  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const r = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return r;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A seed for another generator (e.g. a tensor op's `seed` option). */
  seed(): number {
    return this.nextU32();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
