// Worker-thread entry: serves one TokenizePool at a time. It rebuilds the pool's tokenizer from
// its spec (kept while the spec stays the same), keeps the chunks of texts the pool posts, claims
// the oldest open one through the pool's shared claim slots and returns typed arrays.
import { parentPort } from "node:worker_threads";
import { type DocEncodeOptions, encodeDocument, type ResolvedAnchors } from "./anchors";
import type { Tokenizer, TokenizerSpec } from "./tokenizer";

/** What a pool tokenises with. */
export interface PoolConfig {
  tokenizer: TokenizerSpec;
  anchors: ResolvedAnchors;
  encode: DocEncodeOptions;
}

/**
 * Messages from a pool. `claims` (shared memory): slot `seq % claims.length` is seq + 1 while
 * chunk `seq` is open; a thread claims it by swapping in -(seq + 1).
 */
export type ToWorker =
  | { type: "attach"; pool: number; claims: Int32Array; config: PoolConfig }
  | { type: "chunk"; pool: number; seq: number; texts: string[] }
  | { type: "detach" };

/** A worker's answer for one claimed chunk. */
export type WorkerReply =
  | { pool: number; seq: number; ids: Int32Array[]; anchors: Uint8Array[]; error?: undefined }
  | { pool: number; seq: number; error: string };

/** Like tokenizerFromSpec, importing only the implementation the spec names (faster start). */
async function loadTokenizer(spec: TokenizerSpec): Promise<Tokenizer> {
  switch (spec.kind) {
    case "llama2":
      return (await import("./llama2-tokenizer")).llama2Tokenizer();
    case "bytes":
      return (await import("./byte-tokenizer")).byteTokenizer();
    case "tokenizer-json":
      return (await import("./hf-tokenizer")).tokenizerFromJson(spec.json, spec.config);
    case "added":
      return (await import("./tokenizer")).withAddedTokens(
        await loadTokenizer(spec.base),
        spec.tokens,
      );
  }
}

interface Attached {
  pool: number;
  claims: Int32Array;
  config: PoolConfig;
  tokenizer: Tokenizer | null;
  /** Posted chunks not yet seen claimed. */
  open: Map<number, string[]>;
}

const port = parentPort!;
let current: Attached | null = null;
let cached: { key: string; tokenizer: Promise<Tokenizer> } | null = null;

function tokenizerFor(spec: TokenizerSpec): Promise<Tokenizer> {
  const key = JSON.stringify(spec);
  if (cached?.key !== key) cached = { key, tokenizer: loadTokenizer(spec) };
  return cached.tokenizer;
}

function encodeChunk(a: Attached, seq: number, texts: string[], tok: Tokenizer): void {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const ids: Int32Array[] = [];
    const anchors: Uint8Array[] = [];
    for (const text of texts) {
      const e = encodeDocument(text, tok, a.config.anchors, a.config.encode);
      ids.push(e.ids);
      anchors.push(e.anchors);
      transfer.push(e.ids.buffer as ArrayBuffer, e.anchors.buffer as ArrayBuffer);
    }
    reply = { pool: a.pool, seq, ids, anchors };
  } catch (err) {
    reply = { pool: a.pool, seq, error: (err as Error).message };
    transfer.length = 0;
  }
  port.postMessage(reply, transfer);
}

/** Claims the oldest open chunk and encodes it, while there is one (other threads claim too). */
function work(a: Attached): void {
  const tok = a.tokenizer;
  if (!tok) return;
  while (current === a) {
    let claimed: [number, string[]] | null = null;
    for (const [seq, texts] of a.open) {
      a.open.delete(seq); // claimed here, or by another thread already
      const slot = seq % a.claims.length;
      if (Atomics.compareExchange(a.claims, slot, seq + 1, -(seq + 1)) === seq + 1) {
        claimed = [seq, texts];
        break;
      }
    }
    if (!claimed) return;
    encodeChunk(a, claimed[0], claimed[1], tok);
  }
}

port.on("message", (m: ToWorker) => {
  if (m.type === "attach") {
    const a: Attached = { ...m, tokenizer: null, open: new Map() };
    current = a;
    tokenizerFor(m.config.tokenizer).then(
      (tok) => {
        a.tokenizer = tok;
        work(a);
      },
      (err: Error) => {
        // Unusable spec: let the pool fail with the reason.
        port.postMessage({ pool: a.pool, seq: -1, error: err.message } satisfies WorkerReply);
      },
    );
  } else if (m.type === "detach") current = null;
  else if (current && m.pool === current.pool) {
    current.open.set(m.seq, m.texts);
    work(current);
  }
});
