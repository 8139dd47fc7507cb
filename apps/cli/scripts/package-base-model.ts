// Packages a finished `anllm train --anchor none` run as the shipped base model: writes the latest
// checkpoint's HF files (config.json, model.safetensors stored as F16, generation_config.json,
// anllm.json; not the optimiser state) to the destination, measures its held-out perplexity with HELDOUT_PROTOCOL,
// generates a sample, and writes provenance.json (command, seed, commit, data with checksums,
// training figures, perplexity, sample). Run by scripts/build-base-model.sh:
//   node --conditions=@anllm/source --import tsx apps/cli/scripts/package-base-model.ts \
//     <run-dir> <dest-dir> <commit> <train command...>

import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { generate } from "@anllm/llama2-model";
import { convertModelFolder } from "@anllm/llama2-model/node";
import { defaultDatasetPath } from "@anllm/redpajama-loader";
import { atomicWrite } from "@anllm/tensor/io";
import { readMetrics } from "@anllm/trainer/node";
import { captureIo } from "../src/io";
import {
  BASE_SAMPLE_PROMPT,
  HELDOUT_PROTOCOL,
  heldoutFullPerplexity,
} from "../src/wiring/base-model";
import { ensureDevice } from "../src/wiring/device";
import { loadModelDir, resolveModelDir } from "../src/wiring/model";

const [runDir, dest, commit, ...command] = process.argv.slice(2);
if (!runDir || !dest || !commit || command.length === 0) {
  console.error("usage: package-base-model.ts <run-dir> <dest-dir> <commit> <train command...>");
  process.exit(2);
}

const FILES = ["config.json", "model.safetensors", "generation_config.json", "anllm.json"];

function dataFiles(split: "train" | "heldout") {
  const dir = defaultDatasetPath(split);
  return readdirSync(dir)
    .filter((f) => f.includes("_sample.jsonl"))
    .sort()
    .map((f) => {
      const bytes = readFileSync(join(dir, f));
      return {
        file: `packages/redpajama-loader/data/${split}/${f}`,
        bytes: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      };
    });
}

const io = captureIo();
const device = await ensureDevice(io);
const ckpt = await resolveModelDir(runDir);
// copy into a fresh temporary folder, then swap it in: the destination is never half-written
const tmp = `${dest}.tmp`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
// F16 halves the shipped bytes; the held-out perplexity below is measured from these F16 weights
await convertModelFolder(ckpt, tmp, { dtype: "f16" });
for (const f of FILES) if (!existsSync(join(tmp, f))) copyFileSync(join(ckpt, f), join(tmp, f));

const loaded = await loadModelDir("package", tmp);
const ppl = await heldoutFullPerplexity(loaded);
const prompt = loaded.tokenizer.encode(BASE_SAMPLE_PROMPT, { bos: true });
const gen = await generate(loaded.model, [Int32Array.from(prompt)], {
  maxNewTokens: 96,
  temperature: 0.8,
  topK: 20,
  seed: 34,
  eosId: loaded.tokenizer.eosId,
  anchorIds: [],
  cache: "full",
});
const sample = loaded.tokenizer.decode(Array.from(gen.tokens[0]!));
loaded.model.dispose();

const metrics = readMetrics(join(runDir, "metrics.jsonl"));
const last = metrics.slice(-20);
const repoRoot = join(import.meta.dirname, "..", "..", "..");
const stored = JSON.parse(readFileSync(join(runDir, "train-config.json"), "utf8"));
// paths relative to the repository, so the record does not name this machine's folders
const trainConfig = {
  ...stored,
  data: (stored.data as string[]).map((d) => relative(repoRoot, resolve(d))),
};
const provenance = {
  name: "anllm base-small",
  description:
    "Llama-2-architecture decoder (4 layers, d_model 128, 4 heads / 2 K/V heads, byte tokenizer) " +
    "pre-trained from random weights with full causal attention on the embedded public-domain corpus; " +
    "weights stored as F16 (trained in f32)",
  command: command.join(" "),
  rebuild: "bash scripts/build-base-model.sh",
  // e.g. how this particular run differed from `command` (set by hand when packaging)
  ...(process.env.PROVENANCE_NOTE ? { note: process.env.PROVENANCE_NOTE } : {}),
  seed: trainConfig.seed,
  commit,
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? "cpu"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  device: `${device.kind} ${device.name}`,
  checkpoint: basename(ckpt),
  trainConfig,
  data: {
    train: dataFiles("train"),
    heldout: dataFiles("heldout"),
    licence: "public domain; see packages/redpajama-loader/data/README.md",
  },
  training: {
    steps: metrics.at(-1)?.step ?? 0,
    tokens: metrics.at(-1)?.totalTokens ?? 0,
    lossFirst: metrics[0]?.loss ?? null,
    lossLastMean20: last.reduce((a, m) => a + m.loss, 0) / Math.max(1, last.length),
    wallSec:
      metrics.length > 1
        ? (Date.parse(metrics.at(-1)!.time) - Date.parse(metrics[0]!.time)) / 1000
        : 0,
  },
  heldout: {
    data: "packages/redpajama-loader/data/heldout (plain text, BOS per document)",
    attention: "full (causal)",
    protocol: HELDOUT_PROTOCOL,
    results: ppl.map((r) => ({ length: r.length, ppl: r.ppl, loss: r.loss, windows: r.windows })),
  },
  sample: {
    prompt: BASE_SAMPLE_PROMPT,
    settings: "96 new tokens, temperature 0.8, top-k 20, seed 34, full K/V cache",
    text: sample,
  },
  files: FILES,
};
await atomicWrite(join(tmp, "provenance.json"), `${JSON.stringify(provenance, null, 2)}\n`);
rmSync(dest, { recursive: true, force: true });
renameSync(tmp, dest);
console.log(JSON.stringify({ dest, heldout: provenance.heldout.results, sample }, null, 2));
process.stderr.write(io.stderr);
