// Evaluation text as token ids: documents of a RedPajama-layout folder/file (jsonl, .gz, .zst)
// or a plain .txt file, each encoded like training data (BOS, anchors inserted for AC), then
// concatenated, up to a token budget.

import { readFileSync } from "node:fs";
import {
  BadInputReport,
  encodeDocument,
  type ResolvedAnchors,
  readDocuments,
  type Tokenizer,
} from "@anllm/redpajama-loader";

/** Concatenated token ids of the documents at `path` (stops once `maxTokens` are collected). */
export async function documentTokens(
  path: string,
  tokenizer: Tokenizer,
  anchors: ResolvedAnchors,
  maxTokens = Number.POSITIVE_INFINITY,
): Promise<{ ids: Int32Array; documents: number; skipped: number }> {
  const parts: Int32Array[] = [];
  let total = 0;
  let documents = 0;
  const report = new BadInputReport();
  const add = (text: string) => {
    const ids = encodeDocument(text, tokenizer, anchors).ids;
    parts.push(ids);
    total += ids.length;
    documents += 1;
  };
  if (path.endsWith(".txt")) add(readFileSync(path, "utf8"));
  else {
    for await (const d of readDocuments(path, { report })) {
      add(d.text);
      if (total >= maxTokens) break;
    }
  }
  const ids = new Int32Array(Math.min(total, maxTokens));
  let o = 0;
  for (const p of parts) {
    if (o >= ids.length) break;
    ids.set(p.subarray(0, ids.length - o), o);
    o += Math.min(p.length, ids.length - o);
  }
  return { ids, documents, skipped: report.total };
}
