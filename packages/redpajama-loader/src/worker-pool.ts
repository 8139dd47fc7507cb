// Tokenisation shared by worker threads and this thread: every chunk of texts is posted to every
// worker, and a chunk is claimed (a compare-and-swap on shared memory) by whichever thread is free
// first, this one included while it waits for a result; results come back in submission order.
// Workers outlive their pool: idle ones are kept (unref'd) for the next pool, then stopped.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { EncodedDoc } from "./anchors";
import { TokenizeWorkerError } from "./errors";
import type { PoolConfig, ToWorker, WorkerReply } from "./tokenize-worker";

interface Chunk {
  texts: string[];
  chars: number;
  result?: EncodedDoc[];
  error?: Error;
}

/**
 * Claim slots shared with the workers: slot `seq % CLAIM_SLOTS` holds seq + 1 while chunk `seq`
 * is open and -(seq + 1) once a thread has claimed it (so at most this many chunks in flight).
 */
export const CLAIM_SLOTS = 256;
/** A chunk holds at most this many texts and characters (a longer text is a chunk of its own). */
const CHUNK_TEXTS = 64;
const CHUNK_CHARS = 16_384;
/**
 * Chunks posted ahead of the one being consumed: enough that this thread, tokenising open chunks
 * while it waits, rarely runs out of work behind a slow (long-document) chunk.
 */
const CHUNKS_AHEAD = 16;

/** How long an idle worker is kept for a later pool before it is stopped. */
const IDLE_MS = 60_000;
interface IdleWorker {
  worker: Worker;
  timer: NodeJS.Timeout;
  /** Stops the worker if it errors or exits while idle. */
  onEnd: () => void;
}

/** Started workers that no pool uses now. */
const idle: IdleWorker[] = [];
let pools = 0;
const stats = { started: 0, chunksInWorkers: 0, chunksHere: 0 };

/**
 * Starts one tokenisation worker. Built code runs dist/tokenize-worker.js; from TypeScript source
 * (tests, tsx) the worker first registers tsx's ESM hooks, since Node 20 workers do not inherit
 * the parent's loader hooks, and resolves workspace packages (@anllm/anchor-mask) from source too.
 */
function startWorker(): Worker {
  stats.started++;
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./tokenize-worker.js", here));
  const target = new URL("./tokenize-worker.ts", here).href;
  // tsx/esm/api's ESM build (its "import" condition), located next to tsx/esm.
  const esm = createRequire(here).resolve("tsx/esm");
  const api = pathToFileURL(join(dirname(esm), "api", "index.mjs")).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  const source = "--conditions=@anllm/source";
  const execArgv = process.execArgv.includes(source)
    ? process.execArgv
    : [...process.execArgv, source];
  return new Worker(code, { eval: true, execArgv });
}

function acquireWorker(): Worker {
  const kept = idle.pop();
  if (!kept) return startWorker();
  clearTimeout(kept.timer);
  kept.worker.off("error", kept.onEnd).off("exit", kept.onEnd);
  kept.worker.ref();
  return kept.worker;
}

// (Listeners are removed one by one: Worker keeps internal ones that removeAllListeners would drop.)
function releaseWorker(worker: Worker): void {
  worker.postMessage({ type: "detach" } satisfies ToWorker);
  worker.unref();
  const entry: IdleWorker = {
    worker,
    timer: setTimeout(() => stopIdle(entry), IDLE_MS),
    onEnd: () => stopIdle(entry),
  };
  entry.timer.unref();
  worker.on("error", entry.onEnd).on("exit", entry.onEnd);
  idle.push(entry);
}

function stopIdle(entry: IdleWorker): void {
  const i = idle.indexOf(entry);
  if (i >= 0) idle.splice(i, 1);
  clearTimeout(entry.timer);
  void entry.worker.terminate();
}

/** Stops the idle tokenisation workers kept for reuse now (they also stop after 60 s idle). */
export async function stopIdleWorkers(): Promise<void> {
  const all = idle.splice(0);
  for (const e of all) clearTimeout(e.timer);
  await Promise.all(all.map((e) => e.worker.terminate()));
}

/** Process totals: worker threads started, idle now (kept for reuse), chunks encoded where. */
export function tokenizeWorkerStats(): {
  started: number;
  idle: number;
  chunksInWorkers: number;
  chunksHere: number;
} {
  return { ...stats, idle: idle.length };
}

/** Lets pending worker messages in (one event-loop turn). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `threads` worker threads plus this thread. `submit` posts a chunk; `take` returns a chunk's
 * encodings, tokenising open chunks here until that one is done. Workers claim the oldest open
 * chunk; so does this thread until {@link endOfInput}, then the largest, so that a long last
 * document starts early instead of finishing alone.
 */
export class TokenizePool {
  private readonly id = ++pools;
  private readonly workers: Worker[] = [];
  private readonly claims = new Int32Array(new SharedArrayBuffer(4 * CLAIM_SLOTS));
  /** Submitted chunks not taken yet, in submission order. */
  private readonly chunks = new Map<number, Chunk>();
  private submitted = 0;
  private inputDone = false;
  private failure: Error | null = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly onMessage = (m: WorkerReply) => this.receive(m);
  private readonly onError = (err: Error) => this.fail(err);
  private readonly onExit = (code: number) =>
    this.fail(new TokenizeWorkerError(`exited with code ${code}`));

  constructor(
    threads: number,
    config: PoolConfig,
    private readonly encodeHere: (text: string) => EncodedDoc,
  ) {
    for (let i = 0; i < threads; i++) {
      const w = acquireWorker();
      w.on("message", this.onMessage).on("error", this.onError).on("exit", this.onExit);
      const claims = this.claims;
      w.postMessage({ type: "attach", pool: this.id, claims, config } satisfies ToWorker);
      this.workers.push(w);
    }
  }

  /** Posts a chunk of texts to every worker; returns its index for {@link take}. */
  submit(texts: string[]): number {
    const seq = this.submitted;
    if (this.chunks.has(seq - CLAIM_SLOTS))
      throw new TokenizeWorkerError(`more than ${CLAIM_SLOTS} chunks in flight`);
    this.submitted++;
    this.chunks.set(seq, { texts, chars: texts.reduce((n, t) => n + t.length, 0) });
    Atomics.store(this.claims, seq % CLAIM_SLOTS, seq + 1);
    const msg: ToWorker = { type: "chunk", pool: this.id, seq, texts };
    for (const w of this.workers) w.postMessage(msg);
    return seq;
  }

  /** No more chunks will come: from now on this thread takes the largest open chunk first. */
  endOfInput(): void {
    this.inputDone = true;
  }

  /** The encodings of chunk `seq` (in text order); this thread works on open chunks meanwhile. */
  async take(seq: number): Promise<EncodedDoc[]> {
    for (;;) {
      const c = this.chunks.get(seq);
      if (!c) throw new TokenizeWorkerError(`chunk ${seq} was not submitted or already taken`);
      if (c.result) {
        this.chunks.delete(seq);
        return c.result;
      }
      if (c.error) throw c.error;
      if (this.failure) throw this.failure;
      if (this.claimHere()) await nextTurn();
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /**
   * Encodes the text of every item, in order: items are grouped into chunks, posted ahead, and
   * come back each with its encoding, in input order.
   */
  async *encodeInOrder<T>(
    items: AsyncIterable<T>,
    textOf: (item: T) => string,
  ): AsyncGenerator<[T, EncodedDoc]> {
    const queue: Array<{ items: T[]; seq: number }> = [];
    const chunks = chunked(items, textOf);
    try {
      for (;;) {
        while (queue.length < CHUNKS_AHEAD) {
          const r = await chunks.next();
          if (r.done) {
            this.endOfInput();
            break;
          }
          queue.push({ items: r.value, seq: this.submit(r.value.map(textOf)) });
        }
        const head = queue.shift();
        if (!head) return;
        const encs = await this.take(head.seq);
        for (let i = 0; i < head.items.length; i++) yield [head.items[i]!, encs[i]!];
      }
    } finally {
      await chunks.return(undefined);
    }
  }

  /** Hands the workers back for reuse (or stops them after a failure). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ws = this.workers.splice(0);
    this.chunks.clear();
    for (const w of ws)
      w.off("message", this.onMessage).off("error", this.onError).off("exit", this.onExit);
    if (this.failure) await Promise.all(ws.map((w) => w.terminate()));
    else for (const w of ws) releaseWorker(w);
  }

  /** Claims an open chunk (see the class comment), if any, and encodes it here. */
  private claimHere(): boolean {
    for (;;) {
      let pick = -1;
      let pickChars = -1;
      for (const [seq, c] of this.chunks) {
        if (Atomics.load(this.claims, seq % CLAIM_SLOTS) !== seq + 1) continue;
        if (c.chars > pickChars) [pick, pickChars] = [seq, c.chars];
        if (!this.inputDone) break;
      }
      if (pick < 0) return false;
      const slot = pick % CLAIM_SLOTS;
      if (Atomics.compareExchange(this.claims, slot, pick + 1, -(pick + 1)) !== pick + 1) continue;
      const c = this.chunks.get(pick)!;
      stats.chunksHere++;
      try {
        c.result = c.texts.map((t) => this.encodeHere(t));
      } catch (err) {
        c.error = err as Error;
      }
      return true;
    }
  }

  private receive(m: WorkerReply): void {
    if (m.pool !== this.id) return; // a late answer to the worker's previous pool
    if (m.seq < 0 && m.error !== undefined) this.failure ??= new TokenizeWorkerError(m.error);
    const c = this.chunks.get(m.seq);
    if (c) {
      stats.chunksInWorkers++;
      if (m.error !== undefined) c.error = new TokenizeWorkerError(m.error);
      else c.result = m.ids.map((ids, j) => ({ ids, anchors: m.anchors[j]! }));
    }
    this.wakeUp();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure ??= err;
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

/** Groups items into chunks of at most CHUNK_TEXTS texts and CHUNK_CHARS characters. */
async function* chunked<T>(items: AsyncIterable<T>, textOf: (item: T) => string) {
  let chunk: T[] = [];
  let chars = 0;
  for await (const item of items) {
    const n = textOf(item).length;
    if (chunk.length > 0 && (chunk.length === CHUNK_TEXTS || chars + n > CHUNK_CHARS)) {
      yield chunk;
      chunk = [];
      chars = 0;
    }
    chunk.push(item);
    chars += n;
  }
  if (chunk.length > 0) yield chunk;
}
