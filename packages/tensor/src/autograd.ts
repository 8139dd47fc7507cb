// Reverse-mode autograd engine: backward() walks the tape recorded by the ops (tape.ts) in reverse
// topological order, accumulating leaf gradients into `.grad`.
import { fullLike } from "./factories";
import { runScoped } from "./memory";
import { add } from "./ops/elementwise";
import { sumTo } from "./ops/reduce";
import { noGrad } from "./tape";
import { freeNode, type GradNode, isTensor, type Tensor } from "./tensor";

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

function accumulate(map: Map<GradNode | Tensor, Tensor>, key: GradNode | Tensor, g: Tensor): void {
  const prev = map.get(key);
  if (!prev) {
    map.set(key, g);
    return;
  }
  const sum = add(prev, g);
  prev.dispose();
  g.dispose();
  map.set(key, sum);
}

/**
 * Reverse-mode autograd from `root` (seeded with ones, or with `grad` of root's shape): adds the
 * gradient of every leaf marked for gradients (param) into its `.grad` (kept: it outlives tidy
 * scopes) and frees the tape behind root.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.node) {
    throw new Error("backward(): tensor has no gradient history (no input requires grad)");
  }
  const rootNode = root.node;
  noGrad(() =>
    runScoped(() => {
      const order = topoOrder(rootNode);
      const grads = new Map<GradNode | Tensor, Tensor>();
      grads.set(rootNode, grad ? grad.view(grad.shape) : fullLike(root, 1));
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
            gi = sumTo(r, inp.shape);
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
          const sum = add(t.grad, g);
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
