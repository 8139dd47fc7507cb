// Elementwise ops (unary, scalar, binary with broadcasting, where, cast) and their vjps.

import { type DType, isFloat } from "../dtype";
import { full } from "../factories";
import { attach } from "../tape";
import type { Tensor } from "../tensor";
import { floatOut, launchElementwise, promote, unaryGrad } from "./core";

type UnaryName =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "silu"
  | "gelu"
  | "relu"
  | "sigmoid"
  | "tanh"
  | "abs"
  | "square";

function unary(
  op: UnaryName | "scale" | "addScalar" | "powScalar" | "rsubScalar" | "rdivScalar" | "maxScalar",
  x: Tensor,
  s = 0,
): Tensor {
  const out = launchElementwise(op, [x], floatOut(x), s);
  const needOut =
    op === "exp" || op === "sqrt" || op === "rsqrt" || op === "sigmoid" || op === "tanh";
  return attach(op, out, [x], needOut ? [x, out] : [x], (g, [sx, so]) => [
    unaryGrad(op, sx as Tensor, g, (so ?? sx) as Tensor, s),
  ]);
}

/** -x */
export const neg = (x: Tensor) => unary("neg", x);
/** e^x */
export const exp = (x: Tensor) => unary("exp", x);
/** natural log */
export const log = (x: Tensor) => unary("log", x);
/** square root */
export const sqrt = (x: Tensor) => unary("sqrt", x);
/** 1 / sqrt(x) */
export const rsqrt = (x: Tensor) => unary("rsqrt", x);
/** x * sigmoid(x) */
export const silu = (x: Tensor) => unary("silu", x);
/** GELU (tanh approximation) */
export const gelu = (x: Tensor) => unary("gelu", x);
/** max(x, 0) */
export const relu = (x: Tensor) => unary("relu", x);
/** 1 / (1 + e^-x) */
export const sigmoid = (x: Tensor) => unary("sigmoid", x);
/** tanh */
export const tanh = (x: Tensor) => unary("tanh", x);
/** |x| */
export const abs = (x: Tensor) => unary("abs", x);
/** x * x */
export const square = (x: Tensor) => unary("square", x);
/** x * s */
export const scale = (x: Tensor, s: number) => unary("scale", x, s);
/** x + s */
export const addScalar = (x: Tensor, s: number) => unary("addScalar", x, s);
/** max(x, s) */
export const maximumScalar = (x: Tensor, s: number) => unary("maxScalar", x, s);

function scalarLike(v: number, like: Tensor): Tensor {
  return full([], v, { device: like.device, dtype: "f32" });
}

/** a + b (broadcasting; numbers allowed). */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number") return addScalar(a as Tensor, b);
  if (typeof a === "number") return addScalar(b, a);
  const out = launchElementwise("add", [a, b], promote(a.dtype, b.dtype));
  return attach("add", out, [a, b], [], (g) => [g, g]);
}

/** a - b */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number") return addScalar(a as Tensor, -b);
  if (typeof a === "number") return unary("rsubScalar", b, a);
  const out = launchElementwise("sub", [a, b], promote(a.dtype, b.dtype));
  const nb = b.requiresGrad;
  return attach("sub", out, [a, b], [], (g) => [g, nb ? neg(g) : null]);
}

/** a * b */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number") return scale(a as Tensor, b);
  if (typeof a === "number") return scale(b, a);
  const out = launchElementwise("mul", [a, b], promote(a.dtype, b.dtype));
  const [na, nb] = [a.requiresGrad, b.requiresGrad];
  return attach("mul", out, [a, b], [a, b], (g, [sa, sb]) => [
    na ? mul(g, sb as Tensor) : null,
    nb ? mul(g, sa as Tensor) : null,
  ]);
}

/** a / b */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number") return scale(a as Tensor, 1 / b);
  if (typeof a === "number") return unary("rdivScalar", b, a);
  const out = launchElementwise("div", [a, b], floatOut(a, b));
  const [na, nb] = [a.requiresGrad, b.requiresGrad];
  return attach("div", out, [a, b], [a, b], (g, [sa, sb]) => [
    na ? div(g, sb as Tensor) : null,
    // d(a/b)/db = -a / b^2
    nb ? neg(div(mul(g, sa as Tensor), square(sb as Tensor))) : null,
  ]);
}

/** a ** b (b a tensor or a number). */
export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number") return unary("powScalar", a as Tensor, b);
  const at = typeof a === "number" ? scalarLike(a, b) : a;
  const out = launchElementwise("pow", [at, b], floatOut(at, b));
  const [na, nb] = [at.requiresGrad, b.requiresGrad];
  return attach("pow", out, [at, b], [at, b, out], (g, [sa, sb, so]) => [
    na
      ? mul(
          g,
          mul(
            sb as Tensor,
            launchElementwise("pow", [sa as Tensor, addScalar(sb as Tensor, -1)], floatOut(g)),
          ),
        )
      : null,
    nb ? mul(g, mul(so as Tensor, log(sa as Tensor))) : null,
  ]);
}

/** Elementwise maximum (gradient to the larger input; ties to a). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  const out = launchElementwise("maximum", [a, b], promote(a.dtype, b.dtype));
  return attach("maximum", out, [a, b], [a, b], (g, [sa, sb]) => {
    const ge = launchElementwise("lt", [sa as Tensor, sb as Tensor], floatOut(g));
    return [mul(g, unary("rsubScalar", ge, 1)), mul(g, ge)];
  });
}

/** cond != 0 ? a : b (broadcasting). */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const at = typeof a === "number" ? scalarLike(a, cond) : a;
  const bt = typeof b === "number" ? scalarLike(b, cond) : b;
  const out = launchElementwise("where", [cond, at, bt], promote(at.dtype, bt.dtype));
  const zero = () => scalarLike(0, cond);
  const [na, nb] = [at.requiresGrad, bt.requiresGrad];
  return attach("where", out, [cond, at, bt], [cond], (g, [sc]) => [
    null,
    na ? launchElementwise("where", [sc as Tensor, g, zero()], g.dtype) : null,
    nb ? launchElementwise("where", [sc as Tensor, zero(), g], g.dtype) : null,
  ]);
}

/**
 * Converts dtype (f32 -> int truncates toward zero; f32 -> f16 rounds to nearest even, and like
 * torch's `.half()` turns values beyond 65504 into inf: host uploads check the range, this does
 * not). Differentiable between float dtypes (the gradient is cast back); not to ints.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  const out = launchElementwise("copy", [x], dtype);
  if (!isFloat(dtype) || !isFloat(x.dtype)) return out;
  const from = x.dtype;
  return attach("cast", out, [x], [], (g) => [g.dtype === from ? g : cast(g, from)]);
}

/** Comparison masks (f32 0/1, not differentiable). */
export function compare(op: "eq" | "gt" | "lt", a: Tensor, b: Tensor): Tensor {
  return launchElementwise(op, [a, b], "f32");
}
