// Device setup for the CLI: one initNodeDevice() per process (env ANLLM_DEVICE=cpu|webgpu is
// honoured by @anllm/tensor/node), logged once on stderr, with the kernel choices the autotuner
// cached for this adapter (wiring/tune.ts).

import type { Device } from "@anllm/tensor";
import { initNodeDevice } from "@anllm/tensor/node";
import type { Io } from "../io";
import { loadTunedChoices } from "./tune";

let ready: Device | null = null;

/** Initialises the default device once and returns it. */
export async function ensureDevice(io: Io): Promise<Device> {
  if (ready) return ready;
  ready = await initNodeDevice();
  io.err(`device: ${ready.kind} (${ready.name})\n`);
  await loadTunedChoices(ready);
  return ready;
}
