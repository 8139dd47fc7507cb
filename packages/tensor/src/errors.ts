// Named error classes of @anllm/tensor: every failure a caller can meet has its own class and a
// message that says what was expected and what to do.
import { formatBytes } from "./format";

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

/** A safetensors file is unreadable or malformed, lacks a tensor, or data to write has the wrong size. */
export class SafetensorsError extends Error {
  constructor(
    /** the file concerned */
    readonly file: string,
    /** what is wrong, without the file name */
    readonly detail: string,
    /** the tensor concerned, when there is one */
    readonly tensor?: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "SafetensorsError";
  }
}

/**
 * A folder or file cannot be created or written: a read-only file system, a path component that
 * is a file, a place that allows no new entries (e.g. /proc), no space left, no permission.
 */
export class OutputPathError extends Error {
  constructor(
    /** the folder or file concerned */
    readonly path: string,
    /** what is wrong, without the path */
    readonly detail: string,
    /** the errno code, when the system gave one (EROFS, ENOSPC, EACCES, ...) */
    readonly code?: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = "OutputPathError";
  }
}

/**
 * Values do not fit IEEE half precision: converting them to f16 would turn them into inf. The
 * message names what was converted, how many values overflow, the first index and the largest
 * magnitude (f16's largest finite value is 65504).
 */
export class F16RangeError extends Error {
  constructor(
    /** what was converted (a tensor or weight name) */
    readonly what: string,
    /** number of finite values above f16's range */
    readonly count: number,
    /** flat index of the first of them */
    readonly firstIndex: number,
    /** largest magnitude among them */
    readonly maxAbs: number,
  ) {
    super(
      `${what}: ${count} value(s) outside the f16 range (|x| > 65504; first at index ${firstIndex}, largest ${maxAbs}); keep it in f32 (--dtype f32) or rescale it`,
    );
    this.name = "F16RangeError";
  }
}

/**
 * A device allocation does not fit: the device's memory limit (WebGPU's out-of-memory error, or
 * the byte budget of a software adapter whose "device memory" is the host's RAM) would be
 * exceeded. Names what was being allocated, its size, what is already allocated and the limit;
 * callers that know the workload (the CLI) add which options would make it fit.
 */
export class OutOfMemoryError extends Error {
  constructor(
    /** what was being allocated: a tensor's name, or its dtype and shape */
    readonly what: string,
    /** bytes requested */
    readonly bytes: number,
    /** bytes the device holds already (live tensors and the buffer pool) */
    readonly allocatedBytes: number,
    /** the device's limit in bytes (undefined when the driver reported the failure) */
    readonly limitBytes: number | undefined,
    hint = "",
  ) {
    const size = formatBytes;
    super(
      `out of device memory: cannot allocate ${what} (${size(bytes)}) with ${size(allocatedBytes)} already allocated` +
        (limitBytes !== undefined ? ` (limit ${size(limitBytes)})` : "") +
        (hint ? `; ${hint}` : ""),
    );
    this.name = "OutOfMemoryError";
  }
}
