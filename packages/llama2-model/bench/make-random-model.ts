// Writes a random Llama-2-architecture model of a named preset as an HF folder (config.json +
// safetensors shards + index), one tensor in host memory at a time: the input of the big-model
// benchmark (bench/big-models.ts). Matrices ~ uniform with std 0.02 (HF's initializer range),
// norm weights 1; a fixed seed gives the same bytes every time. Not committed: a 7B in F16 is
// 13.5 GB.
// Usage: node --conditions=@anllm/source --import tsx bench/make-random-model.ts \
//          --preset llama2-7b --dtype f16 --out /tmp/llama2-7b-random [--seed 1]
import { mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { paramSpecs, preset } from "../src/index";
import { saveModelFolder } from "../src/node";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "tinyllama-1.1b" },
    dtype: { type: "string", default: "f16" },
    out: { type: "string" },
    seed: { type: "string", default: "1" },
    "max-shard-bytes": { type: "string", default: String(2 ** 31) },
  },
});
if (!values.out) throw new Error("--out DIR is required");
const dtype = values.dtype as "f32" | "f16" | "bf16";
if (!["f32", "f16", "bf16"].includes(dtype)) throw new Error("--dtype must be f32, f16 or bf16");
const config = preset(values.preset as string);
const seed = Number(values.seed);

/** xorshift32 uniform values in [-a, a) with a = 0.02 * sqrt(3) (std 0.02). */
function randomMatrix(n: number, s: number): Float32Array {
  const out = new Float32Array(n);
  let x = (s * 2654435761) >>> 0 || 1;
  const a = 0.02 * Math.sqrt(3);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x / 4294967296) * 2 * a - a;
  }
  return out;
}

const t0 = performance.now();
await mkdir(values.out, { recursive: true });
const specs = paramSpecs(config);
await saveModelFolder(
  values.out,
  config,
  specs.map((s, i) => ({
    name: s.name,
    shape: s.shape,
    data: () =>
      s.shape.length === 1
        ? new Float32Array(s.numel).fill(1)
        : randomMatrix(s.numel, seed * 1000 + i),
  })),
  { dtype, maxShardBytes: Number(values["max-shard-bytes"]) },
);
const params = specs.reduce((a, s) => a + s.numel, 0);
console.log(
  JSON.stringify({
    preset: values.preset,
    dtype,
    params,
    out: values.out,
    seconds: (performance.now() - t0) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }),
);
