// Config parsing/serialisation, presets and the shape-only memory report (7B never allocated).

import { memoryStats } from "@anllm/tensor";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  configFromHF,
  configToHF,
  formatBytes,
  Llama2,
  memoryReport,
  PRESETS,
  paramSpecs,
  preset,
} from "../src/index";

const LLAMA2_7B_HF = {
  architectures: ["LlamaForCausalLM"],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: "silu",
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 11008,
  max_position_embeddings: 4096,
  model_type: "llama",
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  tie_word_embeddings: false,
  torch_dtype: "float16",
  vocab_size: 32000,
};

describe("config", () => {
  it("parses the Llama-2-7b-hf config.json into the 7B preset", () => {
    expect(configFromHF(LLAMA2_7B_HF)).toEqual({ ...PRESETS["llama2-7b"], padTokenId: undefined });
  });

  it("round-trips every preset through configToHF / configFromHF", () => {
    for (const name of Object.keys(PRESETS)) {
      const c = preset(name);
      expect(configFromHF(configToHF(c))).toEqual({ ...c, padTokenId: undefined });
    }
  });

  it("defaults num_key_value_heads to num_attention_heads and headDim to hidden/heads", () => {
    const { num_key_value_heads: _, ...old } = LLAMA2_7B_HF;
    const c = configFromHF(old);
    expect(c.nKvHeads).toBe(32);
    expect(c.headDim).toBe(128);
  });

  it("names the file and field in errors", () => {
    const { hidden_size: _, ...bad } = LLAMA2_7B_HF;
    expect(() => configFromHF(bad, "/x/config.json")).toThrow(
      /\/x\/config.json: missing required field "hidden_size"/,
    );
    expect(() => configFromHF({ ...LLAMA2_7B_HF, num_key_value_heads: 5 })).toThrow(ConfigError);
    expect(() => configFromHF({ ...LLAMA2_7B_HF, rope_scaling: { type: "linear" } })).toThrow(
      /rope_scaling/,
    );
    expect(() => preset("llama3")).toThrow(/known: llama2-7b/);
  });

  it("tiny preset uses GQA", () => {
    expect(PRESETS.tiny.nHeads / PRESETS.tiny.nKvHeads).toBe(2);
    expect(PRESETS["llama2-70b"].nKvHeads).toBe(8);
  });
});

describe("shape-only 7B", () => {
  it("lists 7B parameters and memory without allocating", () => {
    const before = process.memoryUsage().arrayBuffers;
    const specs = paramSpecs(PRESETS["llama2-7b"]);
    const m = memoryReport(PRESETS["llama2-7b"]);
    expect(specs.length).toBe(1 + 32 * 9 + 2);
    expect(m.totalParams).toBe(6_738_415_616);
    expect(m.weightBytes.f16).toBe(6_738_415_616 * 2);
    expect(m.kvBytesPerToken).toBe(2 * 32 * 4096 * 4);
    expect(m.kvBytesFull).toBe(2 * 32 * 4096 * 4 * 4096);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1e6);
  });

  it("Llama2.shapeOnly(7B) allocates no tensor", () => {
    const live = memoryStats().liveTensors;
    const lazy = Llama2.shapeOnly(PRESETS["llama2-7b"], { seqLen: 4096 });
    expect(
      lazy.params.find((p) => p.name === "model.layers.31.mlp.down_proj.weight")?.shape,
    ).toEqual([4096, 11008]);
    expect(formatBytes(lazy.memory.weightBytes.f16)).toBe("12.55 GiB");
    expect(formatBytes(lazy.memory.kvBytesFull)).toBe("4.00 GiB");
    expect(memoryStats().liveTensors).toBe(live);
  });

  it("counts GQA and tied heads", () => {
    const m70 = memoryReport(PRESETS["llama2-70b"]);
    expect(m70.totalParams).toBe(68_976_648_192);
    const tied = memoryReport({ ...PRESETS.tiny, tieWordEmbeddings: true });
    const untied = memoryReport(PRESETS.tiny);
    expect(untied.totalParams - tied.totalParams).toBe(64 * 32);
  });
});
