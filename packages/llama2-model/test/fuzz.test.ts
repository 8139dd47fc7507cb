// Fuzz (seeded, time-bounded): random edits of a real config.json and of a sharded folder's
// model.safetensors.index.json are either accepted (a config that passes validateConfig with its
// special ids inside the vocabulary; an index whose shards lie inside the folder) or refused with
// ConfigError / WeightsError / SafetensorsError naming the file. Prints the cases tried per kind.

import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { SafetensorsError } from "@anllm/tensor/io";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CheckpointReader,
  ConfigError,
  configFromHF,
  validateConfig,
  WeightsError,
} from "../src/index";
import { openCheckpoint } from "../src/node";

const SEED = 16_016;
const TIME_LIMIT_MS = 10_000;
const FIX = join(import.meta.dirname, "..", "fixtures", "tiny-gqa");
const base: Record<string, unknown> = JSON.parse(await readFile(join(FIX, "config.json"), "utf8"));
const index = JSON.parse(await readFile(join(FIX, "model.safetensors.index.json"), "utf8"));

const value = fc.oneof(
  fc.integer({ min: -3, max: 5000 }),
  fc.double({ noNaN: false }),
  fc.constantFrom(null, true, "llama", "silu", "gelu", "", [], [1, 2], {}, { type: "linear" }),
  fc.string({ maxLength: 6 }),
);

describe("config.json fuzz", () => {
  it("accepts a valid config or refuses with a ConfigError naming the file", () => {
    const tried: Record<string, number> = {};
    const outcome = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(...Object.keys(base), "rope_scaling", "head_dim", "unknown_key"),
            fc.oneof(value, fc.constant(undefined)),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (edits) => {
          const json: Record<string, unknown> = { ...base };
          for (const [k, v] of edits) {
            if (v === undefined) delete json[k];
            else json[k] = v;
            tried[k] = (tried[k] ?? 0) + 1;
          }
          let c: ReturnType<typeof configFromHF>;
          try {
            c = configFromHF(json, "fuzz/config.json");
          } catch (e) {
            outcome.refused++;
            expect(e).toBeInstanceOf(ConfigError);
            expect((e as Error).message.startsWith("fuzz/config.json: ")).toBe(true);
            return;
          }
          outcome.accepted++;
          validateConfig(c);
          for (const id of [c.bosTokenId, c.eosTokenId, c.padTokenId]) {
            if (id !== undefined)
              expect(id >= 0 && id < c.vocabSize && Number.isInteger(id)).toBe(true);
          }
        },
      ),
      { seed: SEED, numRuns: 2000, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.log(
      `config.json fuzz (seed ${SEED}): fields edited ${JSON.stringify(tried)}; ${JSON.stringify(outcome)}`,
    );
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });
});

describe("model.safetensors.index.json fuzz", () => {
  it("opens shards inside the folder only, or refuses naming the index or shard", async () => {
    const outcome = { accepted: 0, refused: 0 };
    const tried: Record<string, number> = {};
    const names = Object.keys(index.weight_map);
    const shardArb = fc.oneof(
      fc.constantFrom(...new Set(Object.values(index.weight_map) as string[])),
      fc.constantFrom(
        "../x.safetensors",
        "/etc/passwd",
        "",
        "sub/../model-00001-of-00002.safetensors",
        "config.json",
        "nope.safetensors",
      ),
      fc.constantFrom(null, 3, [], {}),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(names.length - 1), shardArb), { minLength: 1, maxLength: 3 }),
        async (edits) => {
          const dir = await mkdtemp(join(tmpdir(), "llama2-idx-fuzz-"));
          await cp(FIX, dir, { recursive: true });
          const idx = JSON.parse(JSON.stringify(index));
          for (const [i, shard] of edits) {
            idx.weight_map[names[i]!] = shard;
            const kind =
              typeof shard === "string" ? shard.split("/")[0] || "(empty)" : typeof shard;
            tried[kind] = (tried[kind] ?? 0) + 1;
          }
          const indexPath = join(dir, "model.safetensors.index.json");
          await writeFile(indexPath, JSON.stringify(idx));
          let r: CheckpointReader;
          try {
            r = await openCheckpoint(dir);
          } catch (e) {
            outcome.refused++;
            expect(e instanceof WeightsError || e instanceof SafetensorsError).toBe(true);
            expect((e as Error).message).toContain(dir);
            return;
          }
          outcome.accepted++;
          for (const f of r.files)
            expect(resolve(f.path).startsWith(resolve(dir) + sep)).toBe(true);
          await r.close();
        },
      ),
      { seed: SEED, numRuns: 150, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.log(
      `index fuzz (seed ${SEED}): shard values tried ${JSON.stringify(tried)}; ${JSON.stringify(outcome)}`,
    );
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  }, 60_000);
});
