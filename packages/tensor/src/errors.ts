// Named error classes of @anllm/tensor: every failure a caller can meet has its own class and a
// message that says what was expected and what to do.

/** No usable WebGPU adapter; the message explains how to install one (Mesa lavapipe). */
export class DeviceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceUnavailableError";
  }
}

/** The GPU device was lost (driver reset, destroy, out of memory). */
export class DeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceLostError";
  }
}

/** A WGSL kernel failed to compile or a dispatch failed validation. */
export class KernelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelError";
  }
}

/** Shapes or dtypes of op arguments do not fit together. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** A tensor was used after dispose(). */
export class DisposedTensorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DisposedTensorError";
  }
}
