// Worker-thread entry: rebuilds the tokenizer from its spec and encodes chunks of documents
// (sentence split + anchors) sent by WorkerPool, returning transferable typed arrays.
import { parentPort, workerData } from "node:worker_threads";
import { type DocEncodeOptions, encodeDocument, type ResolvedAnchors } from "./anchors";
import type { TokenizerSpec } from "./tokenizer";
import { tokenizerFromSpec } from "./tokenizer-spec";

/** What the pool passes as workerData. */
export interface TokenizeWorkerInit {
  tokenizer: TokenizerSpec;
  anchors: ResolvedAnchors;
  encode: DocEncodeOptions;
}

const init = workerData as TokenizeWorkerInit;
const tokenizer = tokenizerFromSpec(init.tokenizer);

parentPort!.on("message", (msg: { id: number; texts: string[] }) => {
  try {
    const ids: Int32Array[] = [];
    const anchors: Uint8Array[] = [];
    for (const text of msg.texts) {
      const e = encodeDocument(text, tokenizer, init.anchors, init.encode);
      ids.push(e.ids);
      anchors.push(e.anchors);
    }
    const transfer = [...ids.map((a) => a.buffer), ...anchors.map((a) => a.buffer)];
    parentPort!.postMessage({ id: msg.id, ids, anchors }, transfer as ArrayBuffer[]);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
