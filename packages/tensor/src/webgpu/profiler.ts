// Optional per-kernel GPU timing through timestamp queries (device.startProfile / stopProfile),
// used by benchmarks to see where a step spends its time. Off by default: no cost when unused.

const SLOTS = 2048;

/** Collects compute-pass timestamps and sums them per kernel name. */
export class Profiler {
  private set: GPUQuerySet;
  private resolve: GPUBuffer;
  private names: string[] = [];
  private totals = new Map<string, { ms: number; count: number }>();

  /** @param wait how the device waits for the binding's promises (WebGPUDevice: idleWait) */
  constructor(
    private gpu: GPUDevice,
    private wait: (start: () => Promise<void>) => Promise<void>,
  ) {
    this.set = gpu.createQuerySet({ type: "timestamp", count: SLOTS * 2 });
    this.resolve = gpu.createBuffer({
      size: SLOTS * 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Timestamp writes for the next pass, or undefined when the slots are full. */
  next(name: string): GPUComputePassTimestampWrites | undefined {
    if (this.names.length >= SLOTS) return undefined;
    const i = this.names.length;
    this.names.push(name);
    return { querySet: this.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Resolves the recorded slots into the totals (call after the work was submitted). */
  async collect(): Promise<void> {
    const n = this.names.length;
    if (n === 0) return;
    const enc = this.gpu.createCommandEncoder();
    enc.resolveQuerySet(this.set, 0, 2 * n, this.resolve, 0);
    const read = this.gpu.createBuffer({
      size: n * 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    enc.copyBufferToBuffer(this.resolve, 0, read, 0, n * 16);
    this.gpu.queue.submit([enc.finish()]);
    await this.wait(() => read.mapAsync(GPUMapMode.READ));
    const t = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    read.destroy();
    for (let i = 0; i < n; i++) {
      const name = this.names[i] as string;
      const ms = Number((t[2 * i + 1] as bigint) - (t[2 * i] as bigint)) / 1e6;
      const e = this.totals.get(name) ?? { ms: 0, count: 0 };
      e.ms += ms;
      e.count++;
      this.totals.set(name, e);
    }
    this.names = [];
  }

  /** Totals per kernel, slowest first. */
  report(): { kernel: string; ms: number; count: number }[] {
    return [...this.totals.entries()]
      .map(([kernel, v]) => ({ kernel, ...v }))
      .sort((a, b) => b.ms - a.ms);
  }
}
