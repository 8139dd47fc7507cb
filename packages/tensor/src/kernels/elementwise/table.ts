// The elementwise op table: one entry per op with its op code, WGSL expression, JS reference and
// (for unary ops) the gradient expression. WGSL names: x, y, z = inputs a, b, c; s, s2 = scalars.
// Gradient expressions use x (input), g (incoming grad) and o (forward output).

/** One elementwise op. */
export interface ElemOp {
  code: number;
  arity: 0 | 1 | 2 | 3;
  wgsl: string;
  ref: (x: number, y: number, z: number, s: number, s2: number) => number;
  /** d(out)/dx * g for unary ops, as WGSL over x, g, o, s. */
  gradWgsl?: string;
  gradRef?: (x: number, g: number, o: number, s: number) => number;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const GELU_C = 0.7978845608028654;
const geluRef = (x: number) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
const geluGradRef = (x: number) => {
  const u = GELU_C * (x + 0.044715 * x * x * x);
  const t = Math.tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
};
const powRef = (x: number, p: number) => x ** p;

/** All elementwise ops by name (unary, scalar, binary, ternary). */
export const ELEM_OPS = {
  copy: { code: 0, arity: 1, wgsl: "x", ref: (x) => x, gradWgsl: "g", gradRef: (_x, g) => g },
  neg: { code: 1, arity: 1, wgsl: "-x", ref: (x) => -x, gradWgsl: "-g", gradRef: (_x, g) => -g },
  exp: {
    code: 2,
    arity: 1,
    wgsl: "exp(x)",
    ref: (x) => Math.exp(x),
    gradWgsl: "g * o",
    gradRef: (_x, g, o) => g * o,
  },
  log: {
    code: 3,
    arity: 1,
    wgsl: "log(x)",
    ref: (x) => Math.log(x),
    gradWgsl: "g / x",
    gradRef: (x, g) => g / x,
  },
  sqrt: {
    code: 4,
    arity: 1,
    wgsl: "sqrt(x)",
    ref: (x) => Math.sqrt(x),
    gradWgsl: "g * 0.5 / o",
    gradRef: (_x, g, o) => (g * 0.5) / o,
  },
  rsqrt: {
    code: 5,
    arity: 1,
    wgsl: "inverseSqrt(x)",
    ref: (x) => 1 / Math.sqrt(x),
    gradWgsl: "-0.5 * g * o * o * o",
    gradRef: (_x, g, o) => -0.5 * g * o * o * o,
  },
  silu: {
    code: 6,
    arity: 1,
    wgsl: "x / (1.0 + exp(-x))",
    ref: (x) => x * sig(x),
    gradWgsl: "g * (1.0 / (1.0 + exp(-x))) * (1.0 + x * (1.0 - 1.0 / (1.0 + exp(-x))))",
    gradRef: (x, g) => g * sig(x) * (1 + x * (1 - sig(x))),
  },
  gelu: {
    code: 7,
    arity: 1,
    wgsl: "0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x)))",
    ref: geluRef,
    gradWgsl:
      "g * (0.5 * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x))) + 0.5 * x * (1.0 - tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x)) * tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x))) * 0.7978845608028654 * (1.0 + 0.134145 * x * x))",
    gradRef: (x, g) => g * geluGradRef(x),
  },
  relu: {
    code: 8,
    arity: 1,
    wgsl: "max(x, 0.0)",
    ref: (x) => Math.max(x, 0),
    gradWgsl: "select(0.0, g, x > 0.0)",
    gradRef: (x, g) => (x > 0 ? g : 0),
  },
  sigmoid: {
    code: 9,
    arity: 1,
    wgsl: "1.0 / (1.0 + exp(-x))",
    ref: sig,
    gradWgsl: "g * o * (1.0 - o)",
    gradRef: (_x, g, o) => g * o * (1 - o),
  },
  tanh: {
    code: 10,
    arity: 1,
    wgsl: "tanh_(x)",
    ref: (x) => Math.tanh(x),
    gradWgsl: "g * (1.0 - o * o)",
    gradRef: (_x, g, o) => g * (1 - o * o),
  },
  abs: {
    code: 11,
    arity: 1,
    wgsl: "abs(x)",
    ref: (x) => Math.abs(x),
    gradWgsl: "g * sign(x)",
    gradRef: (x, g) => g * Math.sign(x),
  },
  square: {
    code: 12,
    arity: 1,
    wgsl: "x * x",
    ref: (x) => x * x,
    gradWgsl: "2.0 * x * g",
    gradRef: (x, g) => 2 * x * g,
  },
  scale: {
    code: 13,
    arity: 1,
    wgsl: "x * s",
    ref: (x, _y, _z, s) => x * s,
    gradWgsl: "g * s",
    gradRef: (_x, g, _o, s) => g * s,
  },
  addScalar: {
    code: 14,
    arity: 1,
    wgsl: "x + s",
    ref: (x, _y, _z, s) => x + s,
    gradWgsl: "g",
    gradRef: (_x, g) => g,
  },
  powScalar: {
    code: 15,
    arity: 1,
    wgsl: "powf(x, s)",
    ref: (x, _y, _z, s) => powRef(x, s),
    gradWgsl: "g * s * powf(x, s - 1.0)",
    gradRef: (x, g, _o, s) => g * s * powRef(x, s - 1),
  },
  rsubScalar: {
    code: 16,
    arity: 1,
    wgsl: "s - x",
    ref: (x, _y, _z, s) => s - x,
    gradWgsl: "-g",
    gradRef: (_x, g) => -g,
  },
  rdivScalar: {
    code: 17,
    arity: 1,
    wgsl: "s / x",
    ref: (x, _y, _z, s) => s / x,
    gradWgsl: "-g * s / (x * x)",
    gradRef: (x, g, _o, s) => (-g * s) / (x * x),
  },
  fill: { code: 18, arity: 0, wgsl: "s", ref: (_x, _y, _z, s) => s },
  maxScalar: {
    code: 19,
    arity: 1,
    wgsl: "max(x, s)",
    ref: (x, _y, _z, s) => Math.max(x, s),
    gradWgsl: "select(0.0, g, x >= s)",
    gradRef: (x, g, _o, s) => (x >= s ? g : 0),
  },
  neScalar: {
    code: 20,
    arity: 1,
    wgsl: "select(0.0, 1.0, x != s)",
    ref: (x, _y, _z, s) => +(x !== s),
  },
  eqScalar: {
    code: 21,
    arity: 1,
    wgsl: "select(0.0, 1.0, x == s)",
    ref: (x, _y, _z, s) => +(x === s),
  },
  add: { code: 30, arity: 2, wgsl: "x + y", ref: (x, y) => x + y },
  sub: { code: 31, arity: 2, wgsl: "x - y", ref: (x, y) => x - y },
  mul: { code: 32, arity: 2, wgsl: "x * y", ref: (x, y) => x * y },
  div: { code: 33, arity: 2, wgsl: "x / y", ref: (x, y) => x / y },
  pow: { code: 34, arity: 2, wgsl: "powf(x, y)", ref: powRef },
  maximum: { code: 35, arity: 2, wgsl: "max(x, y)", ref: (x, y) => Math.max(x, y) },
  minimum: { code: 36, arity: 2, wgsl: "min(x, y)", ref: (x, y) => Math.min(x, y) },
  eq: { code: 37, arity: 2, wgsl: "select(0.0, 1.0, x == y)", ref: (x, y) => +(x === y) },
  gt: { code: 38, arity: 2, wgsl: "select(0.0, 1.0, x > y)", ref: (x, y) => +(x > y) },
  lt: { code: 39, arity: 2, wgsl: "select(0.0, 1.0, x < y)", ref: (x, y) => +(x < y) },
  where: {
    code: 50,
    arity: 3,
    wgsl: "select(z, y, x != 0.0)",
    ref: (x, y, z) => (x !== 0 ? y : z),
  },
  /** x * y * z (a ternary op for fused expressions) */
  mul3: { code: 51, arity: 3, wgsl: "x * y * z", ref: (x, y, z) => x * y * z },
  /** (x - y * s) * z: used by norms' backward */
  fma3: { code: 52, arity: 3, wgsl: "(x - y * s) * z", ref: (x, y, z, s) => (x - y * s) * z },
} satisfies Record<string, ElemOp>;

/** Name of an elementwise op. */
export type ElemOpName = keyof typeof ELEM_OPS;

/** Offset added to a unary op's code to select its gradient (a = x, b = g, c = o). */
export const GRAD_CODE_OFFSET = 100;

/** Elementwise op by code, for the CPU reference. */
export const OPS_BY_CODE: Map<number, ElemOp> = new Map(
  Object.values(ELEM_OPS as Record<string, ElemOp>).map((o) => [o.code, o]),
);
