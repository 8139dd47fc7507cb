// The Tensor class: shape + dtype over refcounted device storage, with its autograd node.
// Reshape views share storage; every other op writes a new contiguous tensor.
import type { Backend, Device, Storage } from "./device";
import { type DType, shapeSize, storageBytes, type TypedArray } from "./dtype";
import { DisposedTensorError } from "./errors";
import { countBytes, trackTensor, untrackTensor } from "./memory";

/** A recorded op on the tape: computes input grads from the output grad. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Input nodes (kept even if the input tensor objects are disposed). */
  parents: (GradNode | null)[];
  backward: (g: Tensor) => (Tensor | null)[];
  saved: Tensor[];
  refs: number;
  released: boolean;
}

/** Internal: drop a reference to a node; frees its saved tensors when unreferenced. */
export function releaseNode(n: GradNode): void {
  if (n.released) return;
  n.refs--;
  if (n.refs > 0) return;
  freeNode(n);
}

/** Internal: free saved tensors and release parents. */
export function freeNode(n: GradNode): void {
  if (n.released) return;
  n.released = true;
  for (const s of n.saved) s.dispose();
  n.saved = [];
  for (const p of n.parents) if (p) releaseNode(p);
}

let nextId = 1;

/** An n-dimensional array on a device. */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  grad: Tensor | null = null;
  name?: string;
  /** Exempt from tidy() (set by keep()). */
  kept = false;
  /** @internal tape node that produced this tensor (null for leaves). */
  node: GradNode | null = null;
  private leafGrad = false;
  private disposed = false;
  private readonly tracked: boolean;

  /** @internal Use the factories (tensor, zeros, ...) instead. */
  constructor(
    /** @internal */ readonly storage: Storage,
    shape: readonly number[],
    dtype: DType,
    /** @internal */ readonly backend: Backend,
    tracked = true,
  ) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = shapeSize(shape);
    this.tracked = tracked;
    if (tracked) trackTensor(this);
  }

  /** @internal A tensor over freshly allocated storage (counts its bytes). */
  static fresh(backend: Backend, storage: Storage, shape: readonly number[], dtype: DType): Tensor {
    countBytes(storage.bytes);
    return new Tensor(storage, shape, dtype, backend);
  }

  get device(): Device {
    return this.backend;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** True for a leaf marked for gradients, or for any output of a recorded op. */
  get requiresGrad(): boolean {
    return this.leafGrad || this.node !== null;
  }

  set requiresGrad(v: boolean) {
    if (v && this.dtype !== "f32" && this.dtype !== "f16")
      throw new Error(`requiresGrad needs a float (f32 or f16) tensor, got ${this.dtype}`);
    this.leafGrad = v;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal Throws if disposed. */
  check(): void {
    if (this.disposed) {
      throw new DisposedTensorError(
        `tensor${this.name ? ` "${this.name}"` : ""} [${this.shape.join(", ")}] was used after dispose()`,
      );
    }
  }

  /** @internal A new tensor object sharing this storage (a view), untracked if `tracked` false. */
  view(shape: readonly number[], tracked = true): Tensor {
    this.check();
    this.storage.refs++;
    return new Tensor(this.storage, shape, this.dtype, this.backend, tracked);
  }

  /** Reads the values back to the host (the only sync point). */
  async data(): Promise<TypedArray> {
    this.check();
    return this.backend.read(this.storage, this.size, this.dtype);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a tensor of size 1, got [${this.shape}]`);
    return (await this.data())[0] as number;
  }

  /** Host copy as nested arrays is not provided; use data(). Frees the device memory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.tracked) untrackTensor(this);
    if (this.node) {
      const n = this.node;
      this.node = null;
      releaseNode(n);
    }
    const s = this.storage;
    s.refs--;
    if (s.refs === 0) {
      countBytes(-s.bytes);
      this.backend.release(s);
    }
  }

  /** Same values, no gradient history (shares storage). */
  detach(): Tensor {
    return this.view(this.shape);
  }

  /** Overwrites this tensor's values with `src` (same shape and dtype), no new tensor. */
  copyFrom(src: Tensor): void {
    this.check();
    src.check();
    if (src.size !== this.size || src.dtype !== this.dtype) {
      throw new Error(
        `copyFrom: expected ${this.dtype} [${this.shape}], got ${src.dtype} [${src.shape}]`,
      );
    }
    this.backend.copy(src.storage, this.storage, storageBytes(this.size, this.dtype));
  }

  toString(): string {
    return `Tensor(${this.dtype} [${this.shape.join(", ")}]${this.name ? ` ${this.name}` : ""})`;
  }
}

/** True if `x` is a Tensor. */
export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
