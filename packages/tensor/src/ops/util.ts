// Small internal helpers shared by ops.
import { full } from "../factories";
import type { Tensor } from "../tensor";

/** Zeros of `shape` on the device of `like`. */
export function zerosOn(shape: readonly number[], like: Tensor): Tensor {
  return full(shape, 0, { device: like.device });
}
