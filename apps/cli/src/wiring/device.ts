// Device setup for the CLI: one initNodeDevice() per process (env ANLLM_DEVICE=cpu|webgpu is
// honoured by @anllm/tensor/node), logged once on stderr.

import type { Device } from "@anllm/tensor";
import { initNodeDevice } from "@anllm/tensor/node";
import type { Io } from "../io";

let ready: Device | null = null;

/** Initialises the default device once and returns it. */
export async function ensureDevice(io: Io): Promise<Device> {
  if (ready) return ready;
  ready = await initNodeDevice();
  io.err(`device: ${ready.kind} (${ready.name})\n`);
  return ready;
}
