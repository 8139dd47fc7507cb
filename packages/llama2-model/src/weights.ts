// Parameter tensors of a Llama model keyed by HF names: seeded initialisation (HF's normal(0, 0.02)
// for matrices, ones for norms), loading from a checkpoint reader, and per-layer name helpers.
import { type Device, ones, randn, scale, sum, type Tensor, tensor, tidy } from "@anllm/tensor";
import type { LlamaConfig } from "./config";
import { WeightsError } from "./errors";
import type { CheckpointReader } from "./model-folder";
import { paramSpecs } from "./spec";

/** HF parameter names of decoder layer `i`. */
export function layerNames(i: number) {
  const p = `model.layers.${i}`;
  return {
    q: `${p}.self_attn.q_proj.weight`,
    k: `${p}.self_attn.k_proj.weight`,
    v: `${p}.self_attn.v_proj.weight`,
    o: `${p}.self_attn.o_proj.weight`,
    gate: `${p}.mlp.gate_proj.weight`,
    up: `${p}.mlp.up_proj.weight`,
    down: `${p}.mlp.down_proj.weight`,
    attnNorm: `${p}.input_layernorm.weight`,
    mlpNorm: `${p}.post_attention_layernorm.weight`,
  };
}

export const EMBED = "model.embed_tokens.weight";
export const FINAL_NORM = "model.norm.weight";
export const LM_HEAD = "lm_head.weight";

/** Options of seeded initialisation. */
export interface WeightInitOptions {
  seed: number;
  /** std of the normal init of matrices (HF initializer_range, default 0.02) */
  std?: number;
  device?: Device;
}

/** Fresh parameters: matrices ~ N(0, std^2) (seed + index per tensor), norm weights = 1. */
export function initParams(config: LlamaConfig, opts: WeightInitOptions): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const std = opts.std ?? 0.02;
  paramSpecs(config).forEach((s, i) => {
    const t =
      s.shape.length === 1
        ? ones(s.shape, { device: opts.device })
        : randn(s.shape, { seed: opts.seed * 1000 + i, std, device: opts.device });
    t.requiresGrad = true;
    t.name = s.name;
    out.set(s.name, t);
  });
  return out;
}

/**
 * True when every element of `t` is finite, with one reduction on `t`'s device: 0 * x is 0 for
 * finite x and NaN for NaN and ±Infinity, and a sum of zeros cannot overflow.
 */
export async function allFinite(t: Tensor): Promise<boolean> {
  const s = tidy(() => sum(scale(t, 0)));
  try {
    return Number.isFinite(await s.item());
  } finally {
    s.dispose();
  }
}

/** Read every parameter from a validated checkpoint, one tensor in host memory at a time. */
export async function loadParams(
  config: LlamaConfig,
  reader: CheckpointReader,
  device?: Device,
): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  const specs = paramSpecs(config);
  reader.validate(specs);
  try {
    for (const s of specs) {
      const data = await reader.readF32(s.name);
      const t = tensor(data, s.shape, { device });
      t.requiresGrad = true;
      t.name = s.name;
      out.set(s.name, t);
      if (!(await allFinite(t))) {
        throw new WeightsError(
          `${reader.fileOf(s.name)}: tensor "${s.name}" holds NaN or Infinity; the weights are corrupt (or were saved after training diverged)`,
        );
      }
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
