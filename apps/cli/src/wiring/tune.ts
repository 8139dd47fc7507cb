// Kernel autotuning for the CLI (@anllm/tensor's autotune): choices made on this machine are kept
// per adapter in the file cache (ANLLM_TUNE_CACHE, default ~/.cache/anllm/autotune.json) and
// loaded with the device; `train` tunes at first use: it records the matmul and attention shapes
// of one forward + backward of its model at its batch shape, times the candidate variants of
// each shape class the cache does not know yet, and records the fastest. The choices a run uses
// are pinned in its folder (kernel-choices.json, written before the first step), so a resumed run
// runs the same kernels (bit-exact resume) even if the cache changed. ANLLM_AUTOTUNE=0 turns the
// timing off (cached and pinned choices still apply).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Llama2, ModelBatch } from "@anllm/llama2-model";
import {
  autotune,
  backward,
  type Device,
  recordTuneWork,
  setTunedChoices,
  tunedChoices,
} from "@anllm/tensor";
import { atomicWrite } from "@anllm/tensor/io";
import { nodeTuneCache } from "@anllm/tensor/node";
import type { Io } from "../io";

/** The file in a run folder that pins the kernel choices of the run, per adapter. */
export const KERNEL_CHOICES = "kernel-choices.json";

/** A run folder's kernel-choices.json is unreadable or names no valid choice. */
export class KernelChoicesError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail} (delete the file to choose the kernels again)`);
    this.name = "KernelChoicesError";
  }
}

function readPinned(file: string): Record<string, Record<string, string>> {
  if (!existsSync(file)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new KernelChoicesError(file, `invalid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new KernelChoicesError(file, "expected an object: adapter -> (shape class -> choice)");
  return json as Record<string, Record<string, string>>;
}

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
 * with an anchor every 20 tokens when `attention` is "anchor") and pins the run's choices in
 * `runDir`; choices already pinned there are applied first and not timed again. The model's
 * gradients are left empty. Prints one line on stderr.
 */
export async function tuneForTraining(
  io: Io,
  device: Device,
  model: Llama2,
  shape: { batch: number; seqLen: number; attention: "causal" | "anchor" },
  runDir: string,
): Promise<void> {
  // the CPU device runs one reference per kernel: nothing to choose
  if (device.kind !== "webgpu") return;
  const file = join(runDir, KERNEL_CHOICES);
  const pinned = readPinned(file);
  const mine = pinned[device.name];
  if (mine !== undefined) {
    try {
      setTunedChoices(mine, device);
    } catch (e) {
      throw new KernelChoicesError(file, (e as Error).message);
    }
  }
  if (!autotuneEnabled()) return;
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
  const table = tunedChoices(device);
  const used = Object.fromEntries(
    entries.map((e) => [e.shapeClass, table[e.shapeClass] as string]),
  );
  await atomicWrite(file, `${JSON.stringify({ ...pinned, [device.name]: used }, null, 2)}\n`);
  const measured = entries.filter((e) => !e.fromCache).length;
  io.err(
    `autotune: ${entries.length} kernel shape classes, ${measured} measured, ` +
      `${entries.length - measured} from ${cache.path} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
  );
}
