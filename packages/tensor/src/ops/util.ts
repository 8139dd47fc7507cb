// Small internal helpers shared by ops.
import { full } from "../factories";
import type { Tensor } from "../tensor";

/** Zeros of `shape` on the device of `like`, f16 when `like` is f16, else f32. */
export function zerosOn(shape: readonly number[], like: Tensor): Tensor {
  return full(shape, 0, { device: like.device, dtype: like.dtype === "f16" ? "f16" : "f32" });
}
