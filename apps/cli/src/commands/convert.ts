// `anllm convert`: writes a model folder (HF safetensors, or a PyTorch folder with
// pytorch_model.bin, sharded or not) as an HF safetensors folder, tensor by tensor, through
// @anllm/llama2-model's convertModelFolder (PyTorch files are read without executing them).

import { convertModelFolder } from "@anllm/llama2-model/node";
import { checkWritableDir } from "@anllm/tensor/io";
import { choice, type OptionSpecs, required } from "../args";
import type { Command } from "../command";
import { emit } from "../io";
import { resolveModelDir } from "../wiring/model";

const OPTIONS: OptionSpecs = {
  model: {
    type: "string",
    arg: "DIR",
    help: "model folder (config.json + safetensors or pytorch_model.bin) or a run folder (required)",
  },
  out: { type: "string", arg: "DIR", help: "output folder (required)" },
  to: { type: "string", arg: "safetensors", help: "output format", default: "safetensors" },
  dtype: {
    type: "string",
    arg: "f32|f16|bf16",
    help: "stored dtype of the output",
    computedDefault: "the model's, when all its tensors share one; else f32",
  },
};

export const convertCommand: Command = {
  usage: "anllm convert --model DIR --out DIR [--to safetensors] [--dtype f32|f16|bf16] [--json]",
  about:
    "Writes a model folder as an HF safetensors folder (config.json, model.safetensors or shards + index, tokenizer and generation files).",
  options: OPTIONS,
  async run({ values }, io) {
    const model = await resolveModelDir(required("convert", values, "model", "the model folder"));
    const out = required("convert", values, "out", "the output folder");
    choice("convert", values, "to", ["safetensors"] as const);
    const dtype = choice("convert", values, "dtype", ["f32", "f16", "bf16"] as const);
    checkWritableDir(out);
    const t0 = performance.now();
    const r = await convertModelFolder(model, out, dtype ? { dtype } : {});
    const seconds = (performance.now() - t0) / 1000;
    emit(
      io,
      values.json === true,
      { model, out, format: "safetensors", ...r, seconds },
      () =>
        `converted ${r.tensors} tensors of ${model} to ${out} (safetensors, ${r.dtype}) in ${seconds.toFixed(1)} s`,
    );
    return 0;
  },
};
