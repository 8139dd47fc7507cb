// The CPU device: every kernel runs its hand-written JS reference on typed arrays. It is the test
// oracle and a slow fallback; it shares the whole op and autograd layer with the WebGPU device.
import type { Backend, DeviceLimits, KernelArg, Storage } from "./device";
import type { DType, TypedArray } from "./dtype";
import type { KernelDef } from "./kernels/kernel";

class CpuStorage implements Storage {
  refs = 1;
  readonly buffer: ArrayBuffer;
  private views = new Map<DType, TypedArray>();
  constructor(readonly bytes: number) {
    this.buffer = new ArrayBuffer(bytes);
  }
  view(dtype: DType): TypedArray {
    let v = this.views.get(dtype);
    if (!v) {
      v =
        dtype === "f32"
          ? new Float32Array(this.buffer)
          : dtype === "i32"
            ? new Int32Array(this.buffer)
            : new Uint32Array(this.buffer);
      this.views.set(dtype, v);
    }
    return v;
  }
}

/** Device that runs kernel references on the CPU. */
export class CpuDevice implements Backend {
  readonly kind = "cpu" as const;
  readonly name = "cpu (JS reference kernels)";
  readonly software = true;
  readonly limits: DeviceLimits = {
    maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
    maxBufferSize: 2 ** 31,
    maxStorageBuffersPerShaderStage: 64,
    maxComputeWorkgroupStorageSize: 1 << 20,
  };

  alloc(elems: number): Storage {
    return new CpuStorage(Math.max(4, elems * 4));
  }

  upload(data: TypedArray): Storage {
    const s = new CpuStorage(Math.max(4, data.length * 4));
    new Uint8Array(s.buffer).set(new Uint8Array(data.buffer, data.byteOffset, data.length * 4));
    return s;
  }

  async read(s: Storage, elems: number, dtype: DType): Promise<TypedArray> {
    return (s as CpuStorage).view(dtype).slice(0, elems);
  }

  release(_s: Storage): void {}

  copy(src: Storage, dst: Storage, elems: number): void {
    (dst as CpuStorage).view("u32").set((src as CpuStorage).view("u32").subarray(0, elems));
  }

  run<P>(kernel: KernelDef<P>, params: P, args: KernelArg[]): void {
    kernel.ref(
      params,
      args.map((a) => (a.storage as CpuStorage).view(a.dtype)),
    );
  }

  pooledBytes(): number {
    return 0;
  }

  async sync(): Promise<void> {}

  destroy(): void {}
}
