// A pool of tokenisation worker threads: chunks of texts go round-robin to the workers and come
// back as typed arrays; callers keep results in submission order.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { EncodedDoc } from "./anchors";
import type { TokenizeWorkerInit } from "./tokenize-worker";

interface Pending {
  resolve: (docs: EncodedDoc[]) => void;
  reject: (err: Error) => void;
}

/**
 * Starts one tokenisation worker. Built code runs dist/tokenize-worker.js; from TypeScript source
 * (tests, tsx) the worker first registers tsx's ESM hooks, since Node 20 workers do not inherit
 * the parent's loader hooks.
 */
function startWorker(init: TokenizeWorkerInit): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts"))
    return new Worker(new URL("./tokenize-worker.js", here), { workerData: init });
  const target = new URL("./tokenize-worker.ts", here).href;
  // tsx/esm/api's ESM build (its "import" condition), located next to tsx/esm.
  const esm = createRequire(here).resolve("tsx/esm");
  const api = pathToFileURL(join(dirname(esm), "api", "index.mjs")).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(code, { eval: true, workerData: init });
}

/** Worker threads that run encodeDocument; `encode` resolves in any order, callers queue. */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;
  private failure: Error | null = null;

  constructor(size: number, init: TokenizeWorkerInit) {
    for (let i = 0; i < size; i++) {
      const w = startWorker(init);
      w.on(
        "message",
        (m: { id: number; ids?: Int32Array[]; anchors?: Uint8Array[]; error?: string }) => {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          if (m.error !== undefined) p.reject(new Error(`tokenize worker: ${m.error}`));
          else p.resolve(m.ids!.map((ids, j) => ({ ids, anchors: m.anchors![j]! })));
        },
      );
      w.on("error", (err) => this.fail(err));
      w.on("exit", (code) => {
        if (code !== 0) this.fail(new Error(`tokenize worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  /** Encodes a chunk of texts on the next worker. */
  encode(texts: string[]): Promise<EncodedDoc[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const w = this.workers[this.turn++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, texts });
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
