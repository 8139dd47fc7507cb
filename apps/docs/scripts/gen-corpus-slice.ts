// The corpus slice of "Train in the tab": the first documents of the embedded training corpus
// (@anllm/redpajama-loader's data/train, in the loader's deterministic file order), cut to the
// characters the tab's rows can use, written to public/corpus-slice.json for the page to fetch.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultDatasetPath, readDocuments } from "@anllm/redpajama-loader";
import { CORPUS_SLICE_FILE, type CorpusSlice } from "../lib/tab-options";

const DOCUMENTS = 128;
/** bytes tokenizer: one id per byte, so a 64-token row never needs more characters than this */
const MAX_CHARS = 256;

/** Writes public/corpus-slice.json; returns its path. */
export async function generateCorpusSlice(docsRoot: string): Promise<string> {
  const source = defaultDatasetPath("train");
  const documents: string[] = [];
  for await (const doc of readDocuments(source)) {
    documents.push(doc.text.slice(0, MAX_CHARS));
    if (documents.length >= DOCUMENTS) break;
  }
  const slice: CorpusSlice = {
    source: `the first ${documents.length} documents of @anllm/redpajama-loader data/train, first ${MAX_CHARS} characters each`,
    documents,
  };
  const dir = join(docsRoot, "public");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, CORPUS_SLICE_FILE);
  writeFileSync(file, `${JSON.stringify(slice)}\n`);
  return file;
}
