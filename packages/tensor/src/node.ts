// Node entry (@anllm/tensor/node): WebGPU through Dawn (the `webgpu` package). The GPU object is
// held at module level for the life of the process and released on exit so Node can end.
import { mkdir, readFile } from "node:fs/promises";
import { homedir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { create, globals } from "webgpu";
import type { TuneCache } from "./autotune";
import { CpuDevice } from "./cpu-device";
import { type Device, setDevice } from "./device";
import { DeviceUnavailableError } from "./errors";
import { createWebGPUDevice } from "./init";
import { atomicWrite } from "./io";
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

/** "512MiB", "8GiB", "1.5GB" or a byte count -> bytes (undefined when unset). */
export function parseBytes(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text === "") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?\s*$/i.exec(text);
  if (!m) {
    throw new DeviceUnavailableError(
      `${what} must be a size like 512MiB, 8GiB or a byte count, got "${text}"`,
    );
  }
  const unit = (m[2] ?? "B").toLowerCase();
  const scale: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 2 ** 10,
    mb: 1e6,
    mib: 2 ** 20,
    gb: 1e9,
    gib: 2 ** 30,
    tb: 1e12,
    tib: 2 ** 40,
  };
  return Math.floor(Number(m[1]) * (scale[unit] as number));
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
    const wd = await createWebGPUDevice(gpu, opts);
    // a software adapter's buffers are host RAM, where running out is a kill by the OS: keep a
    // budget so it is an OutOfMemoryError instead ($ANLLM_DEVICE_MEMORY, else 90% of the RAM)
    const asked = parseBytes(process.env.ANLLM_DEVICE_MEMORY, "ANLLM_DEVICE_MEMORY");
    wd.memoryLimitBytes =
      opts.memoryLimitBytes ?? asked ?? (wd.software ? Math.floor(0.9 * totalmem()) : undefined);
    dev = wd;
    devices.add(dev);
  }
  if (opts.setDefault !== false) setDevice(dev);
  return dev;
}

/**
 * The autotuner's file cache in Node: one JSON object, adapter name -> (shape class -> choice),
 * at `path`, else $ANLLM_TUNE_CACHE, else $XDG_CACHE_HOME/anllm/autotune.json (~/.cache/...).
 * An unreadable or malformed file counts as empty (choices are measured again and rewritten);
 * writes are atomic.
 */
export function nodeTuneCache(path?: string): TuneCache & { path: string } {
  const file =
    path ??
    process.env.ANLLM_TUNE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "anllm", "autotune.json");
  const readAll = async (): Promise<Record<string, Record<string, string>>> => {
    try {
      const parsed = JSON.parse(await readFile(file, "utf8")) as unknown;
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, Record<string, string>>)
        : {};
    } catch {
      return {};
    }
  };
  return {
    path: file,
    async load(adapter) {
      const entry = (await readAll())[adapter];
      if (typeof entry !== "object" || entry === null) return {};
      return Object.fromEntries(Object.entries(entry).filter(([, v]) => typeof v === "string"));
    },
    async save(adapter, table) {
      const all = await readAll();
      all[adapter] = table;
      await mkdir(dirname(file), { recursive: true });
      await atomicWrite(file, `${JSON.stringify(all, null, 2)}\n`);
    },
  };
}
