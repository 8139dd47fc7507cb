// The WebGPU device: pipelines cached per kernel variant, dispatches batched into one command
// encoder (no CPU sync per op), storage from a buffer pool, validation errors and device loss
// recorded and thrown at the next sync point with the kernel's name.
import type { Backend, DeviceLimits, KernelArg, Storage } from "../device";
import { type DType, dtypeBytes, storageBytes, type TypedArray } from "../dtype";
import { DeviceLostError, KernelError, OutOfMemoryError } from "../errors";
import { f16ToF32 } from "../half";
import type { KernelDef } from "../kernels/kernel";
import { bindingDecls, ENABLE_F16 } from "./bindings";
import { BufferPool, sizeClass } from "./buffer-pool";
import { idleWait } from "./idle-wait";
import { Profiler } from "./profiler";

const META_BYTES = 256;
const RING_SLOTS = 256;

class GpuStorage implements Storage {
  refs = 1;
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
    readonly cls: number,
  ) {}
}

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Options of the WebGPU device. */
export interface WebGPUDeviceOptions {
  /** Override of the binding limit (bytes) to exercise paging in tests. */
  maxBindingBytes?: number;
  /** Force the kernel variants of a software ("software") or hardware ("hardware") adapter. */
  variants?: "software" | "hardware";
  /**
   * Budget of device bytes (live tensors + pooled buffers): an allocation beyond it trims the
   * pool, then throws OutOfMemoryError. For software adapters, whose "device memory" is the host's
   * RAM (where a failed allocation is a kill by the OS, not an error). Default: no budget.
   */
  memoryLimitBytes?: number;
  /**
   * Node (Dawn's binding) only: milliseconds a wait for the device may poll in a busy loop before
   * the main thread sleeps between polls (1 ms timer turns), leaving the cores to a software
   * adapter's worker threads (idle-wait.ts). Infinity: always busy-poll. Default 1.
   */
  spinWaitMs?: number;
}

/** A device that runs WGSL kernels through a GPUDevice. */
export class WebGPUDevice implements Backend {
  readonly kind = "webgpu" as const;
  readonly limits: DeviceLimits;
  readonly software: boolean;
  readonly pageBytes: number;
  private pool = new BufferPool();
  private pipelines = new Map<string, Compiled>();
  private encoder: GPUCommandEncoder | null = null;
  private ring: GPUBuffer;
  private ringHost = new Uint32Array((RING_SLOTS * META_BYTES) / 4);
  private slot = 0;
  private scopes: Promise<void>[] = [];
  private error: Error | null = null;
  private destroyed = false;
  /** Number of dispatches issued (for tests and benchmarks). */
  dispatches = 0;
  /** Number of queue submits (batches of dispatches). */
  submits = 0;

  constructor(
    readonly gpu: GPUDevice,
    readonly name: string,
    software: boolean,
    opts: WebGPUDeviceOptions = {},
  ) {
    const l = gpu.limits;
    this.memoryLimitBytes = opts.memoryLimitBytes;
    this.spinWaitMs = opts.spinWaitMs ?? 1;
    this.software = opts.variants ? opts.variants === "software" : software;
    this.limits = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    };
    const align = Math.max(256, l.minStorageBufferOffsetAlignment);
    const limit = Math.min(opts.maxBindingBytes ?? Infinity, l.maxStorageBufferBindingSize);
    this.pageBytes = Math.floor(limit / align) * align;
    this.ring = gpu.createBuffer({
      size: RING_SLOTS * META_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    gpu.addEventListener("uncapturederror", (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.record(new KernelError(`WebGPU error: ${e.message}`));
    });
    gpu.lost.then((info) => {
      if (!this.destroyed) {
        this.record(new DeviceLostError(`WebGPU device lost (${info.reason}): ${info.message}`));
      }
    });
  }

  private record(e: Error): void {
    if (!this.error) this.error = e;
  }

  /** See WebGPUDeviceOptions.spinWaitMs. */
  spinWaitMs: number;

  /** Bytes of every buffer this device created and has not destroyed (live tensors and pool). */
  allocatedBytes = 0;

  /** The byte budget (see WebGPUDeviceOptions.memoryLimitBytes); undefined: none. */
  memoryLimitBytes: number | undefined;

  private createBuffer(cls: number, mapped: boolean, what: () => string, bytes: number): GPUBuffer {
    if (cls > this.limits.maxBufferSize) {
      throw new KernelError(
        `tensor of ${cls} bytes exceeds the adapter's maxBufferSize (${this.limits.maxBufferSize})`,
      );
    }
    const limit = this.memoryLimitBytes;
    if (limit !== undefined && this.allocatedBytes + cls > limit) {
      // cached buffers first: they are memory nobody uses
      this.allocatedBytes -= this.pool.trim();
      if (this.allocatedBytes + cls > limit) {
        throw new OutOfMemoryError(what(), bytes, this.allocatedBytes, limit);
      }
    }
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    // a driver's own out-of-memory is reported at the next sync point, naming the tensor
    this.gpu.pushErrorScope("out-of-memory");
    const buf = this.gpu.createBuffer({ size: cls, usage, mappedAtCreation: mapped });
    const held = this.allocatedBytes;
    this.scopes.push(
      this.gpu.popErrorScope().then((e) => {
        if (e) this.record(new OutOfMemoryError(what(), bytes, held, undefined));
      }),
    );
    this.allocatedBytes += cls;
    return buf;
  }

  /** True when the adapter has `shader-f16` and the device was created with it. */
  get supportsF16(): boolean {
    return this.gpu.features.has("shader-f16");
  }

  private checkDtype(dtype: DType): void {
    if (dtype === "f16" && !this.supportsF16) {
      throw new KernelError(
        `f16 tensors need the adapter feature shader-f16, which ${this.name} lacks; use f32 (the model loaders fall back to f32 with a note)`,
      );
    }
  }

  alloc(elems: number, dtype: DType, what?: () => string): Storage {
    this.checkDtype(dtype);
    const bytes = storageBytes(elems, dtype);
    const cls = sizeClass(bytes);
    const buf =
      this.pool.take(cls) ??
      this.createBuffer(cls, false, what ?? (() => `${dtype} x ${elems}`), bytes);
    return new GpuStorage(buf, bytes, cls);
  }

  upload(data: TypedArray | Uint16Array, what?: () => string): Storage {
    if (data.byteLength % 4 !== 0) {
      // an odd number of 16-bit codes: pad to whole 4-byte words (WebGPU writes in words)
      const padded = new Uint16Array(data.length + 1);
      padded.set(data as Uint16Array);
      return this.upload(padded, what);
    }
    if (data instanceof Uint16Array) this.checkDtype("f16");
    const bytes = Math.max(4, data.byteLength);
    const cls = sizeClass(bytes);
    const pooled = this.pool.take(cls);
    if (pooled) {
      // reuse a pooled buffer: submit what is batched first, so the write is queued after every
      // command that may still read the buffer's previous contents
      this.flush();
      this.gpu.queue.writeBuffer(pooled, 0, data.buffer, data.byteOffset, data.byteLength);
      return new GpuStorage(pooled, bytes, cls);
    }
    // a fresh mapped buffer: no hazard with queued work that may still read pooled buffers
    const buf = this.createBuffer(cls, true, what ?? (() => `${data.length} values`), bytes);
    new Uint8Array(buf.getMappedRange()).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    buf.unmap();
    return new GpuStorage(buf, bytes, cls);
  }

  release(s: Storage): void {
    const g = s as GpuStorage;
    if (this.destroyed) return;
    this.pool.give(g.cls, g.buffer);
  }

  private enc(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.gpu.createCommandEncoder();
    return this.encoder;
  }

  copy(src: Storage, dst: Storage, bytes: number): void {
    if (bytes === 0) return;
    const a = src as GpuStorage;
    const b = dst as GpuStorage;
    this.enc().copyBufferToBuffer(a.buffer, 0, b.buffer, 0, bytes);
  }

  /** Submits the batched commands. */
  flush(): void {
    if (!this.encoder) return;
    if (this.slot > 0) {
      this.gpu.queue.writeBuffer(this.ring, 0, this.ringHost, 0, this.slot * (META_BYTES / 4));
    }
    this.gpu.pushErrorScope("validation");
    this.gpu.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.watch("submit");
    this.encoder = null;
    this.slot = 0;
  }

  private watch(what: string): void {
    this.scopes.push(
      this.gpu.popErrorScope().then((e) => {
        if (e) this.record(new KernelError(`${what}: ${e.message}`));
      }),
    );
  }

  private compile<P>(kernel: KernelDef<P>, p: P, args: KernelArg[], pages: number[]): Compiled {
    const half = args.map((a) => a.dtype === "f16");
    const key = `${kernel.name}|${kernel.variant(p, this.software)}|${pages.join(",")}|${half.map((h) => (h ? "h" : "-")).join("")}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const specs = kernel.bindings(p);
    if (specs.length !== args.length) {
      throw new KernelError(
        `kernel ${kernel.name}: ${args.length} args for ${specs.length} bindings`,
      );
    }
    const decls = bindingDecls(specs, pages, this.pageBytes / 4, half);
    const body = kernel.wgsl(p, { decls, pageElems: this.pageBytes / 4, software: this.software });
    const code = half.includes(true) ? ENABLE_F16 + body : body;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
    ];
    let slot = 1;
    specs.forEach((s, i) => {
      for (let k = 0; k < (pages[i] ?? 1); k++) {
        const type = s.write ? "storage" : "read-only-storage";
        entries.push({ binding: slot++, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
      }
    });
    this.gpu.pushErrorScope("validation");
    const module = this.gpu.createShaderModule({ code, label: key });
    const layout = this.gpu.createBindGroupLayout({ entries });
    const pipeline = this.gpu.createComputePipeline({
      layout: this.gpu.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
      label: key,
    });
    this.watch(`kernel ${key} failed to compile`);
    const c = { pipeline, layout };
    this.pipelines.set(key, c);
    return c;
  }

  run<P>(kernel: KernelDef<P>, p: P, args: KernelArg[]): void {
    this.check();
    const grid = kernel.grid(p, this.software);
    if (grid[0] * grid[1] * grid[2] === 0) return;
    const pages = args.map((a) => Math.ceil(a.storage.bytes / this.pageBytes));
    const c = this.compile(kernel, p, args, pages);
    if (this.slot === RING_SLOTS) this.flush();
    const meta = kernel.meta(p);
    if (meta.length > META_BYTES / 4) throw new KernelError(`kernel ${kernel.name}: meta too long`);
    const slot = this.slot++;
    this.ringHost.fill(0, slot * 64, slot * 64 + 64);
    this.ringHost.set(meta, slot * 64);
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.ring, offset: slot * META_BYTES, size: META_BYTES } },
    ];
    let b = 1;
    args.forEach((a, i) => {
      const g = a.storage as GpuStorage;
      for (let k = 0; k < (pages[i] as number); k++) {
        const offset = k * this.pageBytes;
        const size = Math.min(this.pageBytes, g.bytes - offset);
        entries.push({ binding: b++, resource: { buffer: g.buffer, offset, size } });
      }
    });
    this.gpu.pushErrorScope("validation");
    const bindGroup = this.gpu.createBindGroup({ layout: c.layout, entries });
    const timestampWrites = this.profiler?.next(
      `${kernel.name} ${kernel.variant(p, this.software)}`,
    );
    const pass = this.enc().beginComputePass(timestampWrites ? { timestampWrites } : {});
    pass.setPipeline(c.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    pass.end();
    this.watch(`kernel ${kernel.name}`);
    this.dispatches++;
  }

  private check(): void {
    if (this.error) throw this.error;
  }

  async read(s: Storage, elems: number, dtype: DType): Promise<TypedArray> {
    const g = s as GpuStorage;
    const bytes = storageBytes(elems, dtype);
    const staging = this.gpu.createBuffer({
      size: Math.ceil(bytes / 4) * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.enc().copyBufferToBuffer(g.buffer, 0, staging, 0, bytes);
    this.flush();
    await this.settle();
    await idleWait(() => staging.mapAsync(GPUMapMode.READ), this.spinWaitMs);
    const copy = staging.getMappedRange().slice(0, elems * dtypeBytes(dtype));
    staging.unmap();
    staging.destroy();
    this.check();
    if (dtype === "f16") return f16ToF32(new Uint16Array(copy));
    return dtype === "f32"
      ? new Float32Array(copy)
      : dtype === "i32"
        ? new Int32Array(copy)
        : new Uint32Array(copy);
  }

  private async settle(): Promise<void> {
    const scopes = this.scopes;
    this.scopes = [];
    if (scopes.length > 0) await idleWait(() => Promise.all(scopes), this.spinWaitMs);
    this.check();
  }

  async sync(): Promise<void> {
    this.flush();
    await idleWait(() => this.gpu.queue.onSubmittedWorkDone(), this.spinWaitMs);
    await this.settle();
    await this.profiler?.collect();
  }

  private profiler: Profiler | null = null;

  /** Starts per-kernel GPU timing (needs the timestamp-query feature). */
  startProfile(): void {
    if (!this.gpu.features.has("timestamp-query")) {
      throw new KernelError("profiling needs the adapter feature timestamp-query");
    }
    this.profiler = new Profiler(this.gpu, (start) => idleWait(start, this.spinWaitMs));
  }

  /** Stops timing and returns milliseconds per kernel variant, slowest first. */
  async stopProfile(): Promise<{ kernel: string; ms: number; count: number }[]> {
    await this.sync();
    const r = this.profiler?.report() ?? [];
    this.profiler = null;
    return r;
  }

  pooledBytes(): number {
    return this.pool.pooledBytes();
  }

  /** Compiles WGSL and throws a KernelError listing the compiler's messages (line:col). */
  async compileWgsl(code: string, label = "custom"): Promise<void> {
    this.gpu.pushErrorScope("validation");
    const module = this.gpu.createShaderModule({ code, label });
    const info = await module.getCompilationInfo();
    const err = await this.gpu.popErrorScope();
    const msgs = info.messages
      .filter((m) => m.type === "error")
      .map((m) => `  ${label}:${m.lineNum}:${m.linePos} ${m.message}`);
    if (msgs.length > 0 || err) {
      throw new KernelError(
        `WGSL kernel "${label}" failed to compile:\n${msgs.join("\n") || err?.message}`,
      );
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pool.trim();
    this.gpu.destroy();
  }
}
