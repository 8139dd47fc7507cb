// fast-check generators of random anchor sequences with every option of the rule (method.md):
// anchor densities from none to all, right/left/hole padding, packed documents, BOS-visible,
// keep-full.
import fc from "fast-check";
import type { StructureOptions } from "../src/index";
import type { BruteInput } from "./brute-force";

/** A random case: the library's inputs and the oracle's view of the same sequence. */
export interface Case {
  readonly flags: number[];
  readonly options: StructureOptions;
  readonly brute: BruteInput;
}

/** Anchor flags of length n with a random density in {0, 10%, 30%, 70%, 100%}. */
export function flagsArb(n: number): fc.Arbitrary<number[]> {
  return fc
    .constantFrom(0, 10, 30, 70, 100)
    .chain((p) =>
      fc
        .array(fc.integer({ min: 0, max: 99 }), { minLength: n, maxLength: n })
        .map((r) => r.map((x) => (x < p ? 1 : 0))),
    );
}

type Padding =
  | { kind: "none" }
  | { kind: "right"; length: number }
  | { kind: "mask"; mask: number[] };

function paddingArb(n: number): fc.Arbitrary<Padding> {
  return fc.oneof(
    fc.constant<Padding>({ kind: "none" }),
    fc.integer({ min: 0, max: n }).map((length): Padding => ({ kind: "right", length })),
    fc.integer({ min: 0, max: n }).map(
      (k): Padding => ({
        kind: "mask",
        mask: Array.from({ length: n }, (_, t) => (t < k ? 0 : 1)),
      }),
    ),
    fc
      .array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n })
      .map((r): Padding => ({ kind: "mask", mask: r.map((x) => (x === 0 ? 0 : 1)) })),
  );
}

/** Contiguous document runs with arbitrary (unsorted, possibly negative) ids, or none. */
function docsArb(n: number): fc.Arbitrary<number[] | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.array(fc.integer({ min: 0, max: 5 }), { minLength: n, maxLength: n }).chain((cuts) =>
      fc
        .shuffledSubarray([-7, 0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 13], { minLength: 12, maxLength: 12 })
        .map((ids) => {
          let d = 0;
          return cuts.map((c, t) => {
            if (t > 0 && c === 0 && d < ids.length - 1) d++;
            return ids[d]!;
          });
        }),
    ),
  );
}

function keepFullArb(n: number): fc.Arbitrary<Array<[number, number]> | undefined> {
  const range = fc
    .tuple(fc.integer({ min: 0, max: n + 2 }), fc.integer({ min: 0, max: 6 }))
    .map(([s, len]): [number, number] => [s, s + len]);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    fc.array(range, { minLength: 1, maxLength: 2 }),
  );
}

/** A random sequence of length 0..maxLen with random options. */
export function caseArb(maxLen: number): fc.Arbitrary<Case> {
  return fc.integer({ min: 0, max: maxLen }).chain((n) =>
    fc
      .record({
        flags: flagsArb(n),
        padding: paddingArb(n),
        docs: docsArb(n),
        bosVisible: fc.boolean(),
        keepFull: keepFullArb(n),
        padQuery: fc.constantFrom<"self" | "none">("self", "none"),
      })
      .map(({ flags, padding, docs, bosVisible, keepFull, padQuery }): Case => {
        const valid =
          padding.kind === "none"
            ? flags.map(() => 1)
            : padding.kind === "right"
              ? flags.map((_, t) => (t < padding.length ? 1 : 0))
              : padding.mask;
        const options: StructureOptions = {
          ...(padding.kind === "right" ? { length: padding.length } : {}),
          ...(padding.kind === "mask" ? { attentionMask: padding.mask } : {}),
          ...(docs ? { documentIds: docs } : {}),
          ...(keepFull ? { keepFull } : {}),
          bosVisible,
          padQuery,
        };
        const brute: BruteInput = { isAnchor: flags, valid, docs, bosVisible, keepFull, padQuery };
        return { flags, options, brute };
      }),
  );
}

/** Splits n tokens into chunks of the given sizes (cycled), the last one truncated. */
export function chunk(n: number, sizes: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0, k = 0; s < n; k++) {
    const len = Math.min(sizes[k % sizes.length]!, n - s);
    out.push([s, s + len]);
    s += len;
  }
  return out;
}
