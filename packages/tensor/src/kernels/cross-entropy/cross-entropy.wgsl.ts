// WGSL of the fused cross-entropy: per row, log-sum-exp and loss = lse - logit[target] (0 for the
// ignore index); the backward writes g[row] * (softmax - onehot) without materialising softmax.
import { rowKernel } from "../rows";

/** meta: rows, V, ignoreIndex (i32). Bindings logits, targets (i32), loss, lse. */
export function crossEntropyWgsl(decls: string, perThread = false): string {
  return rowKernel(
    decls,
    /* wgsl */ `
    let V = M(1u); let ignore = Mi(2u);
    let base = row * V;
    var m = ninf_();
    for (var j = lid; j < V; j += STRIDE) { m = max(m, ld_logits(base + j)); }
    m = wgMax(lid, m);
    var s = 0.0;
    for (var j = lid; j < V; j += STRIDE) { s += exp(ld_logits(base + j) - m); }
    s = wgSum(lid, s);
    if (lid == 0u) {
      let lse = m + log(s);
      let t = ld_targets(row);
      var loss = 0.0;
      if (t != ignore && t >= 0 && u32(t) < V) { loss = lse - ld_logits(base + u32(t)); }
      st_loss(row, loss);
      st_lse(row, lse);
    }`,
    perThread,
  );
}

/** Bindings logits, targets, lse, g (per row), dlogits. */
export function crossEntropyBackwardWgsl(decls: string, perThread = false): string {
  return rowKernel(
    decls,
    /* wgsl */ `
    let V = M(1u); let ignore = Mi(2u);
    let base = row * V;
    let t = ld_targets(row);
    let valid = t != ignore && t >= 0 && u32(t) < V;
    let g = select(0.0, ld_g(row), valid);
    let lse = ld_lse(row);
    for (var j = lid; j < V; j += STRIDE) {
      let p = exp(ld_logits(base + j) - lse);
      st_dlogits(base + j, g * (p - select(0.0, 1.0, valid && u32(t) == j)));
    }`,
    perThread,
  );
}
