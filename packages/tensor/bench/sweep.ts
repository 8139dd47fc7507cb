// Tiling sweep for the matmul kernels on the current adapter: variants interleaved round-robin,
// best of several runs (the machine is shared), GFLOP/s per variant.
import * as T from "../src/index";
import { initNodeDevice } from "../src/node";

const dev = await initNodeDevice();
const [m, k, n] = (process.argv[2] ?? "1024,1024,1024").split(",").map(Number) as [
  number,
  number,
  number,
];
type V = { tiling?: T.MatmulTiling; transA?: boolean; transB?: boolean; scalar?: boolean };
const variants = JSON.parse(process.argv[3] ?? "[{}]") as V[];
const a = T.randn([m, k], { seed: 1 });
const b = T.randn([k, n], { seed: 2 });
const at = T.randn([k, m], { seed: 1 });
const bt = T.randn([n, k], { seed: 2 });
const best = variants.map(() => Number.POSITIVE_INFINITY);
for (let r = 0; r < 5; r++) {
  for (const [i, v] of variants.entries()) {
    const t0 = performance.now();
    const c = T.matmul(v.transA ? at : a, v.transB ? bt : b, v);
    await dev.sync();
    const ms = performance.now() - t0;
    if (r > 0) best[i] = Math.min(best[i] as number, ms);
    c.dispose();
  }
}
for (const [i, v] of variants.entries()) {
  const ms = best[i] as number;
  console.log(
    JSON.stringify(v),
    `${ms.toFixed(1)} ms`,
    `${((2 * m * n * k) / ms / 1e6).toFixed(2)} GFLOP/s`,
  );
}
