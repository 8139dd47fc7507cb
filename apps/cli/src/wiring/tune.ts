// Kernel autotuning for the CLI (@anllm/tensor's autotune): choices made on this machine are kept
// per adapter in the file cache (ANLLM_TUNE_CACHE, default ~/.cache/anllm/autotune.json) and
// loaded with the device; `train` tunes at first use: it records the matmul and attention shapes
// of one forward + backward of its model at its batch shape, times the candidate variants of
// each shape class the cache does not know yet, and records the fastest. ANLLM_AUTOTUNE=0 turns
// the timing off (cached choices still apply).

import type { Llama2, ModelBatch } from "@anllm/llama2-model";
import { autotune, backward, type Device, recordTuneWork } from "@anllm/tensor";
import { nodeTuneCache } from "@anllm/tensor/node";
import type { Io } from "../io";

/** Loads this adapter's cached choices into the device (no timing). */
export async function loadTunedChoices(device: Device): Promise<void> {
  if (device.kind === "webgpu") await autotune([], { device, cache: nodeTuneCache() });
}

/** Whether the autotuner may time candidates (env ANLLM_AUTOTUNE, default on). */
export function autotuneEnabled(): boolean {
  return process.env.ANLLM_AUTOTUNE !== "0";
}

/**
 * Tunes the kernels of one training step of `model` at `batch` x `seqLen` (a synthetic batch
 * with an anchor every 20 tokens when `attention` is "anchor"); the model's gradients are left
 * empty. Prints one line on stderr.
 */
export async function tuneForTraining(
  io: Io,
  device: Device,
  model: Llama2,
  shape: { batch: number; seqLen: number; attention: "causal" | "anchor" },
): Promise<void> {
  // the CPU device runs one reference per kernel: nothing to choose
  if (!autotuneEnabled() || device.kind !== "webgpu") return;
  const t0 = performance.now();
  const n = shape.batch * shape.seqLen;
  const batch: ModelBatch = {
    inputIds: new Int32Array(n),
    batch: shape.batch,
    seqLen: shape.seqLen,
    attention: shape.attention,
    isAnchor: Uint8Array.from({ length: n }, (_, t) => +((t % shape.seqLen) % 20 === 19)),
  };
  const params = [...model.parameters().values()];
  const work = await recordTuneWork(async () => {
    const loss = model.loss(batch);
    backward(loss);
    loss.dispose();
    await device.sync();
  });
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
  const cache = nodeTuneCache();
  const entries = await autotune(work, { device, cache });
  const measured = entries.filter((e) => !e.fromCache).length;
  io.err(
    `autotune: ${entries.length} kernel shape classes, ${measured} measured, ` +
      `${entries.length - measured} from ${cache.path} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
  );
}
