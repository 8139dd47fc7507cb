// Recording the autograd tape: ops call attach() to record `out = op(inputs)` with the closure
// that computes the input gradients; customGrad records a user-defined op. The engine that walks
// the tape is autograd.ts (backward).
import { runOwning } from "./memory";
import type { GradNode, Tensor } from "./tensor";

let disabled = 0;

/** Runs fn without recording the tape. */
export function noGrad<T>(fn: () => T): T {
  disabled++;
  try {
    return fn();
  } finally {
    disabled--;
  }
}

/**
 * Runs fn with the tape recording even inside noGrad or a backward pass (torch.enable_grad): how
 * a gradient closure recomputes a forward to differentiate it (activation checkpointing).
 */
export function enableGrad<T>(fn: () => T): T {
  const saved = disabled;
  disabled = 0;
  try {
    return fn();
  } finally {
    disabled = saved;
  }
}

/** Whether ops currently record the tape. */
export function isGradEnabled(): boolean {
  return disabled === 0;
}

/** Marks a tensor as a trainable leaf and returns it. */
export function param(t: Tensor): Tensor {
  t.requiresGrad = true;
  return t;
}

function recording(inputs: Tensor[]): boolean {
  return disabled === 0 && inputs.some((t) => t.requiresGrad);
}

/** Records a node whose `saved` tensors it owns (they are disposed when the node is freed). */
function record(
  op: string,
  out: Tensor,
  inputs: Tensor[],
  saved: Tensor[],
  backward: (g: Tensor) => (Tensor | null)[],
): Tensor {
  const parents = inputs.map((t) => t.node);
  for (const p of parents) if (p) p.refs++;
  const node: GradNode = { op, inputs, parents, saved, refs: 1, released: false, backward };
  out.node = node;
  return out;
}

/**
 * Internal: records `out = op(inputs)` if any input needs a gradient. `save` lists tensors the
 * backward needs; the closure receives views of them that live as long as the node.
 */
export function attach(
  op: string,
  out: Tensor,
  inputs: Tensor[],
  save: Tensor[],
  backward: (g: Tensor, saved: Tensor[]) => (Tensor | null)[],
): Tensor {
  if (!recording(inputs)) return out;
  const saved = save.map((t) => t.view(t.shape, false));
  return record(op, out, inputs, saved, (g) => backward(g, saved));
}

/** What the function given to customGrad returns: the output and its vector-Jacobian product. */
export interface CustomGradResult {
  value: Tensor;
  /** dy (same shape as value) -> one gradient per input, shaped like it (null: no gradient). */
  gradient: (dy: Tensor) => (Tensor | null)[];
}

/**
 * An op with its own backward: `customGrad(f)` returns a function of the same inputs whose
 * output is `f(...inputs).value` and whose backward is `gradient`. `f` runs without recording
 * the tape. While the op is on the tape, the inputs `f` received and every tensor `f` created and
 * did not dispose stay alive (through enclosing tidy scopes and disposal of the caller's
 * inputs), so `gradient` may use them; they are freed after backward or with the output.
 * @example
 * const square = customGrad((x) => ({ value: mul(x, x), gradient: (dy) => [mul(dy, scale(x, 2))] }));
 */
export function customGrad<I extends Tensor[]>(
  f: (...inputs: I) => CustomGradResult,
): (...inputs: I) => Tensor {
  return (...inputs: I): Tensor => {
    if (!recording(inputs)) {
      const { value } = noGrad(() => f(...inputs));
      return inputs.includes(value) ? value.view(value.shape) : value;
    }
    const views = inputs.map((t) => t.view(t.shape, false)) as I;
    const { result, owned } = runOwning(() => noGrad(() => f(...views)));
    // the node owns f's tensors (the value included: gradient may read it); the caller gets a view
    const saved: Tensor[] = [...views, ...owned];
    const value = result.value.view(result.value.shape);
    return record("customGrad", value, inputs, saved, (g) => {
      const grads = result.gradient(g);
      if (grads.length !== inputs.length)
        throw new Error(
          `customGrad: gradient returned ${grads.length} tensors for ${inputs.length} inputs`,
        );
      // the engine owns what the closure returns: never hand it a tensor the node owns
      return grads.map((r) => (r && saved.includes(r) ? r.view(r.shape) : r));
    });
  };
}
