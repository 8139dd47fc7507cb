// Public, browser-safe entry of @anllm/tensor (never imports the Node `webgpu` package).
export { backward } from "./autograd";
export type { AutotuneOptions, TuneCache, TuneEntry } from "./autotune";
export { autotune, setTunedChoices, tunedChoices } from "./autotune";
export { CpuDevice } from "./cpu-device";
export type { Device, DeviceKind, DeviceLimits } from "./device";
export { getDevice, setDevice } from "./device";
export type { DType, TypedArray } from "./dtype";
export {
  DeviceLostError,
  DeviceUnavailableError,
  DisposedTensorError,
  F16RangeError,
  KernelError,
  OutOfMemoryError,
  SafetensorsError,
  ShapeError,
} from "./errors";
export type { TensorOptions } from "./factories";
export { arange, fromBF16, fromF16, full, ones, randn, tensor, uniform, zeros } from "./factories";
export { formatBytes } from "./format";
export {
  bf16ToF32,
  F16_MAX,
  f16ToF32,
  f32ToBF16,
  f32ToF16,
  f32ToF16Bits,
  f32ToF16Checked,
} from "./half";
export type { DeviceInitOptions } from "./init";
export { BROWSER_WEBGPU_HELP, createWebGPUDevice, initDevice, LAVAPIPE_RECIPE } from "./init";
export type { MatmulTiling } from "./kernels/matmul/matmul.wgsl";
export { assignInPlace, dispose, keep, memoryStats, resetPeakMemory, tidy } from "./ops/api";
export type { AttentionMask, AttentionOptions, MaskInput, TokenArray } from "./ops/attention";
export {
  attention,
  attentionWithColumnSums,
  makeAttentionMask,
  retainMask,
} from "./ops/attention";
export {
  abs,
  add,
  addScalar,
  cast,
  compare,
  div,
  exp,
  gelu,
  log,
  maximum,
  maximumScalar,
  mul,
  neg,
  pow,
  relu,
  rsqrt,
  scale,
  sigmoid,
  silu,
  sqrt,
  square,
  sub,
  tanh,
  where,
} from "./ops/elementwise";
export type { MatmulOptions } from "./ops/matmul";
export { matmul } from "./ops/matmul";
export {
  concat,
  contiguous,
  embedding,
  expand,
  gather,
  permute,
  reshape,
  slice,
  squeeze,
  transpose,
  unsqueeze,
} from "./ops/movement";
export type { CrossEntropyOptions, RopeOptions } from "./ops/nn";
export { crossEntropy, logSoftmax, rmsNorm, rope, softmax } from "./ops/nn";
export type { AdamWOptions } from "./ops/optim";
export { adamwUpdate } from "./ops/optim";
export { argmax, max, mean, sum } from "./ops/reduce";
export { compactRowsInPlace, writeRowsInPlace } from "./ops/rows-in-place";
export type { SeededRandom, SeededRandomState } from "./random";
export { seededRandom } from "./random";
export type {
  ByteSource,
  BytesLike,
  HostTensor,
  SafetensorsDType,
  SafetensorsEntry,
  SafetensorsHeader,
} from "./safetensors";
export { byteSource, readSafetensorsHeaderFrom, SafetensorsReader } from "./safetensors";
export type { CustomGradResult } from "./tape";
export { customGrad, enableGrad, isGradEnabled, noGrad, param } from "./tape";
export { isTensor, Tensor } from "./tensor";
export type { TuneWork } from "./tuning";
export { recordTuneWork } from "./tuning";
export { WebGPUDevice } from "./webgpu/webgpu-device";
