// Fuzz (seeded, time-bounded): random safetensors files and random corruptions of their headers
// and bodies are either accepted with results that agree with the file (every tensor decodes to
// its shape, the ranges tile the data section) or refused with a SafetensorsError naming the file;
// never another error, never a hang. Prints how many cases of each kind it tried.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  readSafetensorsHeader,
  readSafetensorsTensor,
  SafetensorsError,
  type StoreDType,
  writeSafetensors,
} from "./io";

const SEED = 16_016;
const TIME_LIMIT_MS = 15_000;

const tensorsArb = fc.uniqueArray(
  fc.record({
    name: fc.stringMatching(/^[a-z][a-z0-9_.]{0,12}$/),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 5, selector: (t) => t.name },
);

type Mutation =
  | { kind: "header-json"; path: (string | number)[]; value: unknown }
  | { kind: "header-bytes"; at: number; byte: number }
  | { kind: "body-bytes"; at: number; byte: number }
  | { kind: "truncate"; keep: number }
  | { kind: "append"; bytes: number[] }
  | { kind: "length-prefix"; value: number };

const jsonValue = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.constantFrom(null, "F32", "F16", "BF16", "I64", [], [0], [0, 0], [1, 0], {}),
  fc.array(fc.integer({ min: -2, max: 200 }), { maxLength: 3 }),
);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("header-json" as const),
    path: fc
      .tuple(
        fc.nat(4),
        fc.constantFrom("dtype", "shape", "data_offsets", "data_offsets.0", "data_offsets.1", "*"),
      )
      .map(([i, f]) => [i, ...f.split(".")] as (string | number)[]),
    value: jsonValue,
  }),
  fc.record({ kind: fc.constant("header-bytes" as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant("body-bytes" as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant("truncate" as const), keep: fc.nat() }),
  fc.record({
    kind: fc.constant("append" as const),
    bytes: fc.array(fc.nat(255), { maxLength: 9 }),
  }),
  fc.record({
    kind: fc.constant("length-prefix" as const),
    value: fc.integer({ min: 0, max: 1 << 20 }),
  }),
);

/** Applies `m` to the bytes of a valid file. */
function mutate(file: Uint8Array, m: Mutation): Uint8Array {
  const out = Uint8Array.from(file);
  if (file.length < 8) return out;
  const n = Number(new DataView(out.buffer).getBigUint64(0, true));
  if (8 + n > file.length) return m.kind === "append" ? Uint8Array.from([...out, ...m.bytes]) : out;
  switch (m.kind) {
    case "header-json": {
      let h: Record<string, Record<string, unknown>>;
      try {
        h = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
      } catch {
        return out; // an earlier mutation broke the JSON: nothing to edit
      }
      if (typeof h !== "object" || h === null) return out;
      const names = Object.keys(h).filter((k) => k !== "__metadata__");
      if (names.length === 0) return out;
      const name = names[(m.path[0] as number) % names.length]!;
      if (typeof h[name] !== "object" || h[name] === null) h[name] = {};
      const field = m.path[1] as string;
      if (field === "*") (h as Record<string, unknown>)[name] = m.value;
      else if (m.path.length === 3) {
        const arr = h[name]![field];
        if (Array.isArray(arr)) arr[Number(m.path[2])] = m.value;
      } else h[name]![field] = m.value;
      const json = new TextEncoder().encode(JSON.stringify(h));
      const res = new Uint8Array(8 + json.length + (file.length - 8 - n));
      new DataView(res.buffer).setBigUint64(0, BigInt(json.length), true);
      res.set(json, 8);
      res.set(file.subarray(8 + n), 8 + json.length);
      return res;
    }
    case "header-bytes":
      if (n > 0) out[8 + (m.at % n)] = m.byte;
      return out;
    case "body-bytes":
      if (file.length > 8 + n) out[8 + n + (m.at % (file.length - 8 - n))] = m.byte;
      return out;
    case "truncate":
      return out.subarray(0, m.keep % (file.length + 1));
    case "append":
      return Uint8Array.from([...out, ...m.bytes]);
    case "length-prefix":
      new DataView(out.buffer).setBigUint64(0, BigInt(m.value), true);
      return out;
  }
}

describe("safetensors fuzz", () => {
  it("accepts with consistent results or refuses naming the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "st-fuzz-"));
    const tried: Record<string, number> = {};
    const outcome = { accepted: 0, refused: 0 };
    let caseNo = 0;
    await fc.assert(
      fc.asyncProperty(
        tensorsArb,
        fc.constantFrom<StoreDType>("f32", "f16", "bf16"),
        fc.array(mutationArb, { minLength: 0, maxLength: 2 }),
        async (tensors, dtype, muts) => {
          const base = join(dir, `base-${caseNo}.safetensors`);
          const path = join(dir, `case-${caseNo++}.safetensors`);
          await writeSafetensors(
            base,
            tensors.map((t, i) => ({
              name: t.name,
              shape: t.shape,
              data: () =>
                Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, k) => i + k),
            })),
            dtype,
          );
          let bytes: Uint8Array = await readFile(base);
          for (const m of muts) {
            bytes = mutate(bytes, m);
            tried[m.kind] = (tried[m.kind] ?? 0) + 1;
          }
          if (muts.length === 0) tried.intact = (tried.intact ?? 0) + 1;
          await writeFile(path, bytes);
          let header: Awaited<ReturnType<typeof readSafetensorsHeader>>;
          try {
            header = await readSafetensorsHeader(path);
          } catch (e) {
            outcome.refused++;
            expect(muts.length, `intact file refused: ${(e as Error).message}`).toBeGreaterThan(0);
            expect(e).toBeInstanceOf(SafetensorsError);
            expect((e as Error).message.startsWith(`${path}: `)).toBe(true);
            return;
          }
          outcome.accepted++;
          // accepted: the ranges tile the data section and every tensor decodes to its shape
          const ranges = [...header.entries.values()]
            .map((e) => e.data_offsets)
            .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          let end = 0;
          for (const [b, e] of ranges) {
            expect(b).toBe(end);
            end = e;
          }
          expect(header.dataStart + end).toBe(bytes.length);
          for (const [name, e] of header.entries) {
            const t = await readSafetensorsTensor(path, header, name);
            expect(t.data.length).toBe(e.shape.reduce((a, b) => a * b, 1));
            if (muts.length === 0) {
              // intact: exactly the values written (small integers are exact in f16 and bf16)
              const i = tensors.findIndex((x) => x.name === name);
              expect([...t.data]).toEqual(Array.from(t.data, (_, k) => i + k));
            }
          }
        },
      ),
      { seed: SEED, numRuns: 400, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.log(
      `safetensors fuzz (seed ${SEED}): ${caseNo} files; mutations tried ${JSON.stringify(tried)}; ${JSON.stringify(outcome)}`,
    );
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  }, 60_000);
});
