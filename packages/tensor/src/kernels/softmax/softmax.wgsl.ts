// WGSL of row softmax / log-softmax over the last axis and of their backward.
import { rowKernel } from "../rows";

/** meta: rows, n, log (0 softmax, 1 log-softmax). Bindings x, y. */
export function softmaxWgsl(decls: string, perThread = false): string {
  return rowKernel(
    decls,
    /* wgsl */ `
    let n = M(1u); let isLog = M(2u) == 1u;
    let base = row * n;
    var m = ninf_();
    for (var j = lid; j < n; j += STRIDE) { m = max(m, ld_x(base + j)); }
    m = wgMax(lid, m);
    var s = 0.0;
    for (var j = lid; j < n; j += STRIDE) { s += exp(ld_x(base + j) - m); }
    s = wgSum(lid, s);
    let ls = log(s);
    for (var j = lid; j < n; j += STRIDE) {
      let v = ld_x(base + j) - m;
      st_y(base + j, select(exp(v) / s, v - ls, isLog));
    }`,
    perThread,
  );
}

/** meta as forward. Bindings y (forward output), g, dx. */
export function softmaxBackwardWgsl(decls: string, perThread = false): string {
  return rowKernel(
    decls,
    /* wgsl */ `
    let n = M(1u); let isLog = M(2u) == 1u;
    let base = row * n;
    var d = 0.0;
    for (var j = lid; j < n; j += STRIDE) {
      d += select(ld_g(base + j) * ld_y(base + j), ld_g(base + j), isLog);
    }
    d = wgSum(lid, d);
    for (var j = lid; j < n; j += STRIDE) {
      let y = ld_y(base + j); let g = ld_g(base + j);
      st_dx(base + j, select(y * (g - d), g - exp(y) * d, isLog));
    }`,
    perThread,
  );
}
