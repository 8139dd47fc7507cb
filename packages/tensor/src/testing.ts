// Test helpers (@anllm/tensor/testing): closeness checks, finite-difference gradient checks,
// and describeDevices, which runs a suite on the CPU device and on WebGPU (failing, never
// skipping, when no adapter exists, and asserting that the WebGPU suite ran on WebGPU whatever
// ANLLM_DEVICE says); tests that compare a device with the CPU reference register with
// itOnWebGPU, so no "[cpu]" case compares the reference with itself.
import { afterAll, beforeAll, beforeEach, describe, it } from "vitest";
import { backward } from "./autograd";
import { CpuDevice } from "./cpu-device";
import { type Device, getDevice, hasDevice, setDevice } from "./device";
import type { DType } from "./dtype";
import { tensor } from "./factories";
import { createWebGPUDevice, initDevice } from "./init";
import { tidy } from "./ops/api";
import { mul } from "./ops/elementwise";
import { sum } from "./ops/reduce";
import { seededRandom } from "./random";
import { noGrad } from "./tape";
import { isTensor, type Tensor } from "./tensor";

type Values = Tensor | ArrayLike<number> | number;

async function hostValues(v: Values): Promise<ArrayLike<number>> {
  if (typeof v === "number") return [v];
  if (isTensor(v)) return v.data();
  return v;
}

/** Tolerances: |a - e| <= atol + rtol * |e| elementwise. */
export interface CloseOptions {
  rtol?: number;
  atol?: number;
}

/** Throws (naming the worst index) unless actual and expected agree elementwise. */
export async function expectAllClose(
  actual: Values,
  expected: Values,
  opts: CloseOptions = {},
): Promise<void> {
  const a = await hostValues(actual);
  const e = await hostValues(expected);
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-6;
  if (a.length !== e.length)
    throw new Error(`expectAllClose: length ${a.length} vs expected ${e.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = e[i] as number;
    if (Number.isNaN(x) !== Number.isNaN(y)) {
      throw new Error(`expectAllClose: index ${i}: got ${x}, expected ${y}`);
    }
    if (Number.isNaN(x) || x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > worstExcess || (excess > 0 && worst < 0)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `expectAllClose: index ${worst} of ${a.length}: got ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** Options of gradCheck. */
export interface GradCheckOptions {
  /** Finite-difference step (default 1e-2; f32 arithmetic). */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Elements checked per input (sampled; default 24). */
  samples?: number;
  seed?: number;
}

/**
 * Compares autograd gradients with central finite differences on the CPU device. `fn` maps
 * the inputs to any tensor; the check uses the scalar sum(fn(...) * w) with random weights w.
 * Non-f32 inputs (ids) are passed through and not checked. Throws on mismatch.
 */
export async function gradCheck(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: (Tensor | ArrayLike<number>)[],
  opts: GradCheckOptions & { shapes?: number[][] } = {},
): Promise<{ checked: number; maxAbsErr: number }> {
  const prev = hasDevice() ? getDevice() : null;
  const cpu = new CpuDevice();
  setDevice(cpu);
  try {
    const rng = seededRandom(opts.seed ?? 7);
    const eps = opts.eps ?? 1e-2;
    const host: {
      vals: Float64Array | Int32Array;
      shape: number[];
      dtype: DType;
    }[] = [];
    for (const [i, x] of inputs.entries()) {
      if (isTensor(x))
        host.push({
          vals:
            x.dtype === "f32" || x.dtype === "f16"
              ? Float64Array.from(await x.data())
              : Int32Array.from(await x.data()),
          shape: [...x.shape],
          dtype: x.dtype,
        });
      else
        host.push({
          vals: Float64Array.from(x),
          shape: opts.shapes?.[i] ?? [x.length],
          dtype: "f32",
        });
    }
    const make = (grad: boolean) =>
      host.map((h) =>
        tensor(h.vals, h.shape, { dtype: h.dtype, requiresGrad: grad && h.dtype === "f32" }),
      );
    const probe = tidy(() => noGrad(() => fn(...make(false))));
    const w = tensor(
      Float64Array.from({ length: probe.size }, () => rng.next() * 2 - 1),
      probe.shape,
    );
    probe.dispose();
    const loss = (xs: Tensor[]) => sum(mul(fn(...xs), w));
    const leaves = make(true);
    const l = loss(leaves);
    backward(l);
    l.dispose();
    let checked = 0;
    let maxAbsErr = 0;
    for (const [i, h] of host.entries()) {
      if (h.dtype !== "f32") continue;
      const g = leaves[i]?.grad
        ? Array.from(await (leaves[i] as Tensor & { grad: Tensor }).grad.data())
        : new Array(h.vals.length).fill(0);
      const n = h.vals.length;
      const count = Math.min(n, opts.samples ?? 24);
      const picks =
        count === n ? [...Array(n).keys()] : Array.from({ length: count }, () => rng.int(n));
      for (const k of picks) {
        const orig = h.vals[k] as number;
        const at = async (v: number) => {
          h.vals[k] = v;
          const r = tidy(() => noGrad(() => loss(make(false))));
          const val = await r.item();
          r.dispose();
          return val;
        };
        const num = ((await at(orig + eps)) - (await at(orig - eps))) / (2 * eps);
        h.vals[k] = orig;
        const ana = g[k] as number;
        const err = Math.abs(num - ana);
        maxAbsErr = Math.max(maxAbsErr, err);
        if (err > (opts.atol ?? 1e-2) + (opts.rtol ?? 2e-2) * Math.abs(num)) {
          throw new Error(
            `gradCheck: input ${i} element ${k}: autograd ${ana}, finite difference ${num}`,
          );
        }
        checked++;
      }
    }
    for (const t of leaves) {
      t.grad?.dispose();
      t.dispose();
    }
    w.dispose();
    return { checked, maxAbsErr };
  } finally {
    if (prev) setDevice(prev);
  }
}

let gpuDevice: Promise<Device> | null = null;

/** The WebGPU device of the [webgpu] suites: never the CPU device, whatever ANLLM_DEVICE says. */
async function webgpuDevice(): Promise<Device> {
  if (!gpuDevice) {
    gpuDevice = (async () => {
      const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
      if (nav?.gpu) return initDevice({ prefer: "webgpu", setDefault: false });
      const node = await import("./node");
      return createWebGPUDevice(node.nodeGpu());
    })();
  }
  const dev = await gpuDevice;
  if (dev.kind !== "webgpu")
    throw new Error(`describeDevices: the [webgpu] suite got a ${dev.kind} device (${dev.name})`);
  return dev;
}

/** The kind of suite describeDevices is registering tests for (null outside its body). */
let registering: "cpu" | "webgpu" | null = null;

/** `n` seeded values uniform in [-amp, amp) (the kernels' test inputs; same stream for a seed). */
export function seededValues(n: number, seed: number, amp = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r.next() * 2 - 1) * amp);
}

/**
 * Runs `body` twice: under "<name> [cpu]" with the CPU device and "<name> [webgpu]" with the
 * WebGPU device (Dawn in Node). The WebGPU suite fails when no adapter exists and asserts that
 * its device is a WebGPU one (ANLLM_DEVICE=cpu does not turn it into a CPU run). `devices:
 * ["webgpu"]` registers only the WebGPU suite (for suites of CPU-reference comparisons).
 */
export function describeDevices(
  name: string,
  body: (device: () => Device) => void,
  opts: { devices?: readonly ("cpu" | "webgpu")[] } = {},
): void {
  for (const kind of opts.devices ?? (["cpu", "webgpu"] as const)) {
    describe(`${name} [${kind}]`, () => {
      let dev: Device | null = null;
      beforeAll(async () => {
        dev = kind === "cpu" ? new CpuDevice() : await webgpuDevice();
        setDevice(dev);
      });
      beforeEach(() => {
        if (dev) setDevice(dev);
      });
      afterAll(async () => {
        if (dev) await dev.sync();
      });
      const outer = registering;
      registering = kind;
      try {
        body(() => {
          if (!dev) throw new Error(`describeDevices: ${kind} device not initialised`);
          return dev;
        });
      } finally {
        registering = outer;
      }
    });
  }
}

function onWebGPUOnly(): boolean {
  if (registering === null) throw new Error("itOnWebGPU: call it inside a describeDevices body");
  return registering === "webgpu";
}

/**
 * `it` for tests that compare the device with the CPU reference (expectSameAsCpu): registered in
 * the [webgpu] suite of describeDevices only, since on the CPU device they would compare the
 * reference with itself. `itOnWebGPU.each(table)(name, fn)` as `it.each`.
 */
export const itOnWebGPU = Object.assign(
  (name: string, fn: () => unknown, timeout?: number): void => {
    if (onWebGPUOnly()) it(name, fn as () => Promise<void>, timeout);
  },
  {
    each:
      <T extends readonly unknown[]>(table: readonly T[]) =>
      (
        name: string,
        fn: (...args: { -readonly [K in keyof T]: T[K] }) => unknown,
        timeout?: number,
      ): void => {
        if (onWebGPUOnly())
          it.each(table as T[])(
            name,
            (...args) => fn(...(args as unknown as T)) as Promise<void>,
            timeout,
          );
      },
  },
);

/**
 * Runs `fn` (which builds its own seeded inputs on the default device) on the current default
 * device and again on a fresh CPU device, and compares every returned tensor.
 */
export async function expectSameAsCpu(
  fn: () => Tensor | Tensor[],
  opts: CloseOptions = {},
): Promise<void> {
  const dev = getDevice();
  if (dev.kind === "cpu")
    throw new Error(
      "expectSameAsCpu on the CPU device compares the reference with itself: register the test with itOnWebGPU",
    );
  const run = async (): Promise<ArrayLike<number>[]> => {
    const out = tidy(() => {
      const r = fn();
      return Array.isArray(r) ? r : [r];
    });
    const vals: ArrayLike<number>[] = [];
    for (const t of out) {
      vals.push(await t.data());
      t.dispose();
    }
    return vals;
  };
  const got = await run();
  setDevice(new CpuDevice());
  let want: ArrayLike<number>[];
  try {
    want = await run();
  } finally {
    setDevice(dev);
  }
  for (let i = 0; i < got.length; i++) {
    try {
      await expectAllClose(got[i] as ArrayLike<number>, want[i] as ArrayLike<number>, opts);
    } catch (e) {
      throw new Error(`output ${i} differs from the CPU reference: ${(e as Error).message}`);
    }
  }
}
