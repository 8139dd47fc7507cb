// Per-kernel GPU time of one training step of the small benchmark model (timestamp queries).
import { initNodeDevice } from "../src/node";
import type { WebGPUDevice } from "../src/webgpu/webgpu-device";
import { makeOurs } from "./model";

const dev = (await initNodeDevice({ prefer: "webgpu" })) as WebGPUDevice;
const big = process.argv.includes("--big");
const step = makeOurs(
  big
    ? { name: "big", dModel: 256, nLayers: 4, nHeads: 4, seqLen: 256, batch: 8, vocabSize: 32000 }
    : { name: "small", dModel: 128, nLayers: 2, nHeads: 4, seqLen: 128, batch: 4, vocabSize: 2048 },
);
await step();
dev.startProfile();
const t0 = performance.now();
const loss = await step();
const wall = performance.now() - t0;
const rows = await dev.stopProfile();
const total = rows.reduce((a, r) => a + r.ms, 0);
console.log(`step ${wall.toFixed(0)} ms wall, ${total.toFixed(0)} ms in kernels, loss ${loss}`);
for (const r of rows.slice(0, 25))
  console.log(`${r.ms.toFixed(1).padStart(9)} ms  x${String(r.count).padEnd(4)} ${r.kernel}`);
process.exit(0);
