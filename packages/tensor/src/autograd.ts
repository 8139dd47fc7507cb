// Reverse-mode autograd: ops record nodes on a tape (attach), backward() walks them in reverse
// topological order, accumulating leaf gradients into `.grad`.
import { runScoped } from "./memory";
import { freeNode, type GradNode, isTensor, setBackwardRunner, type Tensor } from "./tensor";

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

/** Whether ops currently record the tape. */
export function isGradEnabled(): boolean {
  return disabled === 0;
}

/** Marks a tensor as a trainable leaf and returns it. */
export function param(t: Tensor): Tensor {
  t.requiresGrad = true;
  return t;
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
  if (disabled > 0 || !inputs.some((t) => t.requiresGrad)) return out;
  const saved = save.map((t) => t.view(t.shape, false));
  const parents = inputs.map((t) => t.node);
  for (const p of parents) if (p) p.refs++;
  out.node = {
    op,
    inputs,
    parents,
    saved,
    refs: 1,
    released: false,
    backward: (g) => backward(g, saved),
  };
  return out;
}

function topoOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const stack: [GradNode, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as [GradNode, number];
    const [n, i] = top;
    if (i < n.parents.length) {
      top[1]++;
      const p = n.parents[i];
      if (p && !p.released && !seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(n);
    }
  }
  return order.reverse();
}

type Ops = {
  add: (a: Tensor, b: Tensor) => Tensor;
  onesLike: (t: Tensor) => Tensor;
  sumTo: (g: Tensor, shape: readonly number[]) => Tensor;
};
let ops: Ops | null = null;

/** Internal: the ops the engine needs (installed by the op layer). */
export function setAutogradOps(o: Ops): void {
  ops = o;
}

function accumulate(map: Map<GradNode | Tensor, Tensor>, key: GradNode | Tensor, g: Tensor): void {
  const prev = map.get(key);
  if (!prev) {
    map.set(key, g);
    return;
  }
  const sum = (ops as Ops).add(prev, g);
  prev.dispose();
  g.dispose();
  map.set(key, sum);
}

function runBackward(root: Tensor, seed?: Tensor): void {
  if (!ops) throw new Error("autograd ops not installed");
  const o = ops;
  if (!root.node) {
    throw new Error("backward(): tensor has no gradient history (no input requires grad)");
  }
  const rootNode = root.node;
  noGrad(() =>
    runScoped(() => {
      const order = topoOrder(rootNode);
      const grads = new Map<GradNode | Tensor, Tensor>();
      grads.set(rootNode, seed ? seed.view(seed.shape) : o.onesLike(root));
      const leafGrads = new Map<GradNode | Tensor, Tensor>();
      for (const n of order) {
        const g = grads.get(n);
        if (!g) continue;
        grads.delete(n);
        const results = runScoped(() => dedupe(n.backward(g), g), isTensor);
        g.dispose();
        n.inputs.forEach((inp, i) => {
          const r = results[i];
          if (!r) return;
          const parent = n.parents[i];
          let gi = r;
          if (gi.size !== inp.size) {
            gi = o.sumTo(r, inp.shape);
            r.dispose();
          } else if (gi.shape.join() !== inp.shape.join()) {
            gi = r.view(inp.shape);
            r.dispose();
          }
          if (parent && !parent.released) accumulate(grads, parent, gi);
          else if (!parent && inp.requiresGrad) accumulate(leafGrads, inp, gi);
          else gi.dispose();
        });
        for (const r of results)
          if (r && !r.isDisposed && !isOwned(r, grads, leafGrads)) r.dispose();
      }
      for (const n of order) freeNode(n);
      for (const [leaf, g] of leafGrads) {
        const t = leaf as Tensor;
        if (t.grad && !t.grad.isDisposed) {
          const sum = o.add(t.grad, g);
          t.grad.dispose();
          g.dispose();
          t.grad = sum;
        } else t.grad = g;
        t.grad.kept = true;
      }
    }, isTensor),
  );
}

function isOwned(r: Tensor, a: Map<unknown, Tensor>, b: Map<unknown, Tensor>): boolean {
  for (const v of a.values()) if (v === r) return true;
  for (const v of b.values()) if (v === r) return true;
  return false;
}

/** Each result must be a distinct object the engine owns: duplicates become views. */
function dedupe(results: (Tensor | null)[], g: Tensor): (Tensor | null)[] {
  const seen = new Set<Tensor>([g]);
  return results.map((r) => {
    if (!r) return null;
    if (seen.has(r)) return r.view(r.shape);
    seen.add(r);
    return r;
  });
}

setBackwardRunner(runBackward);
