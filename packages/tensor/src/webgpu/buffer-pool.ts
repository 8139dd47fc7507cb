// Pool of GPU storage buffers by size class: disposed tensors give their buffer back and later
// allocations reuse it (safe without waiting: all work runs in queue order).

const MiB = 1 << 20;

/**
 * Rounded byte size a request of `bytes` is served with: powers of two up to 16 MiB (activations
 * of nearby sizes share buffers), then whole 2 MiB (weights: a 7B's 86 MiB MLP matrices in f16
 * would waste 10 MiB each at 16 MiB granularity, 1 GiB over the model).
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  if (bytes <= 16 * MiB) return 2 ** Math.ceil(Math.log2(bytes));
  return Math.ceil(bytes / (2 * MiB)) * 2 * MiB;
}

/** Free lists of buffers keyed by size class. */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private bytes = 0;

  take(cls: number): GPUBuffer | undefined {
    const list = this.free.get(cls);
    const b = list?.pop();
    if (b) this.bytes -= cls;
    return b;
  }

  give(cls: number, b: GPUBuffer): void {
    let list = this.free.get(cls);
    if (!list) {
      list = [];
      this.free.set(cls, list);
    }
    list.push(b);
    this.bytes += cls;
  }

  /** Bytes held in free lists. */
  pooledBytes(): number {
    return this.bytes;
  }

  /** Destroys every pooled buffer (used when an allocation fails or on device destroy). */
  /** Destroys every pooled buffer; returns the bytes released. */
  trim(): number {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    const released = this.bytes;
    this.bytes = 0;
    return released;
  }
}
