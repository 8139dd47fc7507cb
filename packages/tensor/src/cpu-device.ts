// The CPU device: every kernel runs its hand-written JS reference on typed arrays. It is the test
// oracle and a slow fallback; it shares the whole op and autograd layer with the WebGPU device.
// f16 storage holds 16-bit codes like a GPU buffer; a kernel reference sees those bindings
// decoded to f32 and its f16 outputs are rounded back (f32 arithmetic, f16 storage: what the
// WGSL kernels do).
import type { Backend, DeviceLimits, KernelArg, Storage } from "./device";
import { type DType, storageBytes, type TypedArray } from "./dtype";
import { f16ToF32, f32ToF16 } from "./half";
import type { KernelDef } from "./kernels/kernel";

class CpuStorage implements Storage {
  refs = 1;
  readonly buffer: ArrayBuffer;
  private views = new Map<string, TypedArray | Uint16Array>();
  constructor(readonly bytes: number) {
    this.buffer = new ArrayBuffer(bytes);
  }
  view(dtype: Exclude<DType, "f16">): TypedArray {
    return this.viewOf(dtype) as TypedArray;
  }
  /** The 16-bit codes of f16 storage. */
  halfView(): Uint16Array {
    return this.viewOf("f16") as Uint16Array;
  }
  private viewOf(dtype: DType): TypedArray | Uint16Array {
    let v = this.views.get(dtype);
    if (!v) {
      v =
        dtype === "f32"
          ? new Float32Array(this.buffer)
          : dtype === "i32"
            ? new Int32Array(this.buffer)
            : dtype === "u32"
              ? new Uint32Array(this.buffer)
              : new Uint16Array(this.buffer);
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
  readonly supportsF16 = true;
  readonly limits: DeviceLimits = {
    maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
    maxBufferSize: 2 ** 31,
    maxStorageBuffersPerShaderStage: 64,
    maxComputeWorkgroupStorageSize: 1 << 20,
  };

  alloc(elems: number, dtype: DType): Storage {
    return new CpuStorage(storageBytes(elems, dtype));
  }

  upload(data: TypedArray | Uint16Array, _what?: () => string): Storage {
    const s = new CpuStorage(Math.max(4, Math.ceil(data.byteLength / 4) * 4));
    new Uint8Array(s.buffer).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return s;
  }

  async read(s: Storage, elems: number, dtype: DType): Promise<TypedArray> {
    const st = s as CpuStorage;
    if (dtype === "f16") return f16ToF32(st.halfView().subarray(0, elems));
    return st.view(dtype).slice(0, elems);
  }

  release(_s: Storage): void {}

  copy(src: Storage, dst: Storage, bytes: number): void {
    (dst as CpuStorage).view("u32").set((src as CpuStorage).view("u32").subarray(0, bytes / 4));
  }

  run<P>(kernel: KernelDef<P>, params: P, args: KernelArg[]): void {
    const arrays = args.map((a) => {
      const st = a.storage as CpuStorage;
      return a.dtype === "f16" ? f16ToF32(st.halfView()) : st.view(a.dtype);
    });
    kernel.ref(params, arrays);
    const specs = kernel.bindings(params);
    args.forEach((a, i) => {
      if (a.dtype === "f16" && specs[i]?.write) {
        (a.storage as CpuStorage).halfView().set(f32ToF16(arrays[i] as Float32Array));
      }
    });
  }

  pooledBytes(): number {
    return 0;
  }

  async sync(): Promise<void> {}

  destroy(): void {}
}
