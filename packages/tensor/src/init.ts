// Device initialisation shared by the browser entry (navigator.gpu) and the Node entry (Dawn):
// requests the adapter's real limits and the features we use, or explains what to install.
import { CpuDevice } from "./cpu-device";
import { type Device, setDevice } from "./device";
import { DeviceUnavailableError } from "./errors";
import { WebGPUDevice, type WebGPUDeviceOptions } from "./webgpu/webgpu-device";

/** Options of initDevice. */
export interface DeviceInitOptions extends WebGPUDeviceOptions {
  prefer?: "webgpu" | "cpu";
  /** A GPU object (navigator.gpu, or the Dawn GPU from @anllm/tensor/node). */
  gpu?: GPU;
  /** Make the new device the default (true). */
  setDefault?: boolean;
}

/** How to get a WebGPU adapter on a machine without a GPU (printed when none is found). */
export const LAVAPIPE_RECIPE = `No WebGPU adapter was found. On a machine without a GPU, install Mesa's software Vulkan driver
(lavapipe) from bookworm-backports - Debian 12's own Mesa 22.3 is too old for Dawn:
  sudo bash scripts/setup-system.sh            (from the anllm repository root)
or by hand (Debian 12, as root):
  printf 'Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' > /etc/apt/sources.list.d/backports.sources
  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1
Set XDG_RUNTIME_DIR=/tmp if the driver complains. On a machine with a GPU, install its Vulkan driver.
Or run on the CPU reference device: initNodeDevice({ prefer: "cpu" }) / ANLLM_DEVICE=cpu.`;

/** What to do when a web page finds no WebGPU (shown by initDevice in a browser). */
export const BROWSER_WEBGPU_HELP = `This browser offers no WebGPU adapter. WebGPU needs Chrome or Edge 113+ (Windows, macOS,
ChromeOS, Android), Safari 26+, or Firefox 141+ on Windows, on a page served over https or from localhost.
On Linux, Chrome/Chromium needs chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan) turned on,
or the command-line switches --enable-unsafe-webgpu --enable-features=Vulkan; without a GPU, Chromium
runs WebGPU on its built-in SwiftShader adapter. Check chrome://gpu for "WebGPU: Hardware accelerated".`;

/** True in a web page or worker (there the no-adapter message is about the browser, not Mesa). */
function inBrowser(): boolean {
  const g = globalThis as { document?: unknown; importScripts?: unknown };
  return g.document !== undefined || typeof g.importScripts === "function";
}

const WANTED_FEATURES: GPUFeatureName[] = ["shader-f16", "subgroups", "timestamp-query"];

function noAdapterHelp(): string {
  return inBrowser() ? BROWSER_WEBGPU_HELP : LAVAPIPE_RECIPE;
}

/** Opens a WebGPU device on `gpu` with the adapter's real limits. */
export async function createWebGPUDevice(
  gpu: GPU,
  opts: WebGPUDeviceOptions = {},
): Promise<WebGPUDevice> {
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    throw new DeviceUnavailableError(`requestAdapter() failed: ${String(e)}\n${noAdapterHelp()}`);
  }
  if (!adapter) throw new DeviceUnavailableError(noAdapterHelp());
  const requiredLimits: Record<string, number> = {};
  const al = adapter.limits as unknown as Record<string, number>;
  for (const key of [
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxStorageBuffersPerShaderStage",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupSizeY",
    "maxComputeWorkgroupsPerDimension",
    "maxBindingsPerBindGroup",
  ]) {
    if (typeof al[key] === "number") requiredLimits[key] = al[key];
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const software =
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    info.architecture === "software" ||
    /llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor} ${info.device} ${info.description}`);
  const name = `webgpu ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ")}`;
  return new WebGPUDevice(device, name, software, opts);
}

/**
 * Initialises the default device. Uses `opts.gpu`, else `navigator.gpu` when present; with
 * `prefer: "cpu"` (or no GPU object at all) the CPU reference device.
 */
export async function initDevice(opts: DeviceInitOptions = {}): Promise<Device> {
  let dev: Device;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const gpu = opts.gpu ?? nav?.gpu;
  if (opts.prefer === "cpu") dev = new CpuDevice();
  else if (gpu) dev = await createWebGPUDevice(gpu, opts);
  else if (opts.prefer === "webgpu")
    throw new DeviceUnavailableError(
      `WebGPU is not available here (no navigator.gpu).\n${noAdapterHelp()}`,
    );
  else dev = new CpuDevice();
  if (opts.setDefault !== false) setDevice(dev);
  return dev;
}
