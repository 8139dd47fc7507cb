// Device interface (public) and the backend contract both devices implement, plus the default
// device registry (getDevice / setDevice).
import type { DType, TypedArray } from "./dtype";
import type { KernelDef } from "./kernels/kernel";

/** Which implementation runs the kernels. */
export type DeviceKind = "webgpu" | "cpu";

/** Limits that matter to the tensor library (the adapter's real values on WebGPU). */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
}

/** A place where tensors live and kernels run. */
export interface Device {
  readonly kind: DeviceKind;
  readonly name: string;
  readonly limits: DeviceLimits;
  /** Whether f16 tensors can live here (WebGPU: the adapter's shader-f16 feature). */
  readonly supportsF16: boolean;
  /** Waits for all queued work and throws the first recorded kernel/device error. */
  sync(): Promise<void>;
  destroy(): void;
}

/** Device memory handle shared by tensors that view the same data (refcounted). */
export interface Storage {
  /** Byte size of the data (see `storageBytes`: elements x dtype bytes, rounded up to 4). */
  readonly bytes: number;
  refs: number;
}

/** A tensor argument of a kernel run: its storage and element type. */
export interface KernelArg {
  storage: Storage;
  dtype: DType;
}

/** What the op layer needs from a device. */
export interface Backend extends Device {
  /**
   * Uninitialised storage for `elems` elements of `dtype`; `what()` names it in an
   * OutOfMemoryError (a tensor's name, or its dtype and shape; only called then).
   */
  alloc(elems: number, dtype: DType, what?: () => string): Storage;
  /** Storage holding `data`'s bytes as they are (f16 tensors upload their 16-bit codes). */
  upload(data: TypedArray | Uint16Array, what?: () => string): Storage;
  /** Reads `elems` elements back; f16 storage comes back decoded as a Float32Array. */
  read(s: Storage, elems: number, dtype: DType): Promise<TypedArray>;
  release(s: Storage): void;
  /** Copies `bytes` bytes (a multiple of 4) from src to dst (both from byte 0). */
  copy(src: Storage, dst: Storage, bytes: number): void;
  run<P>(kernel: KernelDef<P>, params: P, args: KernelArg[]): void;
  pooledBytes(): number;
  /** True on a software adapter (lavapipe) or on the CPU device. */
  readonly software: boolean;
}

let current: Backend | null = null;

/** The default device; throws if none was initialised. */
export function getDevice(): Device {
  return getBackend();
}

/** Internal: the default device as a backend. */
export function getBackend(): Backend {
  if (!current) {
    throw new Error(
      "@anllm/tensor: no device. Call initDevice() (browser) or initNodeDevice() from @anllm/tensor/node first.",
    );
  }
  return current;
}

/** Makes `d` the default device for factories and ops. */
export function setDevice(d: Device): void {
  current = d as Backend;
}

/** Internal: whether a default device exists. */
export function hasDevice(): boolean {
  return current !== null;
}
