// Node entry (@anllm/tensor/node): WebGPU through Dawn (the `webgpu` package). The GPU object is
// held at module level for the life of the process and released on exit so Node can end.
import { create, globals } from "webgpu";
import { CpuDevice } from "./cpu-device";
import { type Device, setDevice } from "./device";
import { DeviceUnavailableError } from "./errors";
import { createWebGPUDevice } from "./init";
import type { WebGPUDeviceOptions } from "./webgpu/webgpu-device";

let dawn: GPU | null = null;
const devices = new Set<Device>();

/** The process-wide Dawn GPU object (created once, kept alive until exit). */
export function nodeGpu(): GPU {
  if (!dawn) {
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = "/tmp";
    Object.assign(globalThis, globals);
    dawn = create([]);
    process.once("beforeExit", releaseNodeGpu);
    process.once("exit", releaseNodeGpu);
  }
  return dawn;
}

/** Destroys every device opened here and drops the Dawn object so the process can exit. */
function releaseNodeGpu(): void {
  for (const d of devices) d.destroy();
  devices.clear();
  dawn = null;
}

/** Options of initNodeDevice. */
export interface NodeInitOptions extends WebGPUDeviceOptions {
  prefer?: "webgpu" | "cpu";
  setDefault?: boolean;
}

/**
 * Opens the default device in Node: WebGPU via Dawn (lavapipe on machines without a GPU), or the
 * CPU device with `prefer: "cpu"` or env ANLLM_DEVICE=cpu. Throws DeviceUnavailableError (with
 * the install recipe) when WebGPU is wanted and no adapter exists.
 */
export async function initNodeDevice(opts: NodeInitOptions = {}): Promise<Device> {
  const env = process.env.ANLLM_DEVICE;
  if (env && env !== "cpu" && env !== "webgpu") {
    throw new DeviceUnavailableError(`ANLLM_DEVICE must be "cpu" or "webgpu", got "${env}"`);
  }
  const prefer = (env as "cpu" | "webgpu" | undefined) ?? opts.prefer ?? "webgpu";
  let dev: Device;
  if (prefer === "cpu") dev = new CpuDevice();
  else {
    const gpu = nodeGpu();
    dev = await createWebGPUDevice(gpu, opts);
    devices.add(dev);
  }
  if (opts.setDefault !== false) setDevice(dev);
  return dev;
}
