// CPU references of gather along an axis and of its scatter-add gradient.
import type { TypedArray } from "../../dtype";

/** x viewed as [outer, V, inner]; ids index the middle axis. */
export interface GatherParams {
  outer: number;
  V: number;
  inner: number;
  count: number;
}

/** arrays = [x, ids, out]. */
export function gatherRef(p: GatherParams, arrays: TypedArray[]): void {
  const [x, ids, out] = arrays as [TypedArray, Int32Array, TypedArray];
  for (let o = 0; o < p.outer; o++) {
    for (let c = 0; c < p.count; c++) {
      const id = ids[c] as number;
      const dst = (o * p.count + c) * p.inner;
      // out-of-range ids read as zeros
      if (id < 0 || id >= p.V) {
        out.fill(0, dst, dst + p.inner);
        continue;
      }
      const src = (o * p.V + id) * p.inner;
      for (let e = 0; e < p.inner; e++) out[dst + e] = x[src + e] as number;
    }
  }
}

/** arrays = [ids, links]: links[c] = next position with ids[c] (-1 if none); links[count + c] = 1 if c is the first. */
export function scatterLinksRef(p: { count: number }, arrays: TypedArray[]): void {
  const [ids, links] = arrays as [Int32Array, Int32Array];
  const lastSeen = new Map<number, number>();
  links.fill(-1, 0, p.count);
  for (let c = 0; c < p.count; c++) {
    const id = ids[c] as number;
    const prev = lastSeen.get(id);
    if (prev === undefined) links[p.count + c] = 1;
    else {
      links[prev] = c;
      links[p.count + c] = 0;
    }
    lastSeen.set(id, c);
  }
}

/** arrays = [ids, links, g, dx]: dx[o, ids[c], e] += g[o, c, e], positions taken in order. */
export function scatterAddRef(p: GatherParams, arrays: TypedArray[]): void {
  const [ids, , g, dx] = arrays as [Int32Array, Int32Array, Float32Array, Float32Array];
  for (let o = 0; o < p.outer; o++) {
    for (let c = 0; c < p.count; c++) {
      const id = ids[c] as number;
      if (id < 0 || id >= p.V) continue;
      const src = (o * p.count + c) * p.inner;
      const dst = (o * p.V + id) * p.inner;
      for (let e = 0; e < p.inner; e++)
        dx[dst + e] = (dx[dst + e] as number) + (g[src + e] as number);
    }
  }
}
