// Parameter tensors of a Llama model keyed by HF names: seeded initialisation (HF's normal(0, 0.02)
// for matrices, ones for norms), loading from a checkpoint reader, and per-layer name helpers.
import {
  cast,
  type Device,
  fromF16,
  getDevice,
  noGrad,
  ones,
  randn,
  type Tensor,
  tensor,
} from "@anllm/tensor";
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
  /** dtype of the parameters (default f32); f16 falls back to f32 where the device lacks it */
  dtype?: ModelDType;
}

/** dtypes a model's tensors (weights, activations, K/V) can have on the device. */
export type ModelDType = "f32" | "f16";

/**
 * The dtype a model gets on `device` when `asked` is requested: f16 needs the adapter's
 * shader-f16 feature; without it the model runs in f32 and `note` says why (callers print it).
 */
export function resolveModelDType(
  asked: ModelDType | undefined,
  device: Device | undefined,
): { dtype: ModelDType; note?: string } {
  if (asked !== "f16") return { dtype: "f32" };
  const d = device ?? getDevice();
  if (d.supportsF16) return { dtype: "f16" };
  return {
    dtype: "f32",
    note: `${d.name} lacks the WebGPU feature shader-f16: weights, activations and K/V stay f32 (twice the memory of --dtype f16)`,
  };
}

/** Fresh parameters: matrices ~ N(0, std^2) (seed + index per tensor), norm weights = 1. */
export function initParams(config: LlamaConfig, opts: WeightInitOptions): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const std = opts.std ?? 0.02;
  const dtype = opts.dtype ?? "f32";
  paramSpecs(config).forEach((s, i) => {
    const f32 =
      s.shape.length === 1
        ? ones(s.shape, { device: opts.device })
        : randn(s.shape, { seed: opts.seed * 1000 + i, std, device: opts.device });
    // f16 models: the same seeded values rounded once (so f16 and f32 inits match to f16 precision)
    const t = dtype === "f32" ? f32 : noGrad(() => cast(f32, dtype));
    if (t !== f32) f32.dispose();
    t.requiresGrad = true;
    t.name = s.name;
    out.set(s.name, t);
  });
  return out;
}

/**
 * Index of the first NaN or ±Infinity among host values (f32 values, or IEEE half codes when
 * `half`), -1 when all are finite: checked on the host while the bytes are there, before upload
 * (a device reduction per tensor cost TinyLlama's load 13.5 s of its first 42 tensors' 19 s).
 */
export function firstNonFinite(values: Float32Array | Uint16Array, half: boolean): number {
  if (half) {
    // exponent all ones: inf or NaN
    for (let i = 0; i < values.length; i++)
      if (((values[i] as number) & 0x7c00) === 0x7c00) return i;
    return -1;
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v - v !== 0) return i; // NaN - NaN and inf - inf are NaN
  }
  return -1;
}

/** Bytes uploaded between two waits for the device queue while loading weights. */
const UPLOAD_SYNC_BYTES = 256 * 2 ** 20;

/** Read every parameter from a validated checkpoint, one tensor in host memory at a time. */
export async function loadParams(
  config: LlamaConfig,
  reader: CheckpointReader,
  device?: Device,
  dtype: ModelDType = "f32",
): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  const specs = paramSpecs(config);
  reader.validate(specs);
  let pending = 0;
  try {
    for (const s of specs) {
      // f16: F16 files upload their bytes as they are; F32/BF16 convert with the range check
      const values = dtype === "f16" ? await reader.readF16(s.name) : await reader.readF32(s.name);
      const bad = firstNonFinite(values, dtype === "f16");
      if (bad >= 0) {
        throw new WeightsError(
          `${reader.fileOf(s.name)}: tensor "${s.name}" holds NaN or Infinity (first at index ${bad}); the weights are corrupt (or were saved after training diverged)`,
        );
      }
      const t =
        values instanceof Uint16Array
          ? fromF16(values, s.shape, { device, dtype: "f16", name: s.name })
          : tensor(values, s.shape, { device, name: s.name });
      t.requiresGrad = true;
      t.name = s.name;
      out.set(s.name, t);
      // WebGPU stages each upload until the next submit completes: let the queue drain every
      // UPLOAD_SYNC_BYTES so staging memory stays bounded (TinyLlama in f16: peak RSS 5.6 GiB
      // without, for 2.05 GiB of weights)
      pending += t.size * (dtype === "f16" ? 2 : 4);
      if (pending >= UPLOAD_SYNC_BYTES) {
        await t.device.sync();
        pending = 0;
      }
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
