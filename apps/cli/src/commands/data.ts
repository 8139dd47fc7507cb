// `anllm data inspect PATH`: reads a RedPajama-layout dataset (folder, file or files), tokenises
// every document with the chosen anchors and reports documents, tokens, anchors and sentences per
// subset and file, plus every skipped record counted by reason (with the first few locations).
// `anllm data export PATH --out DIR`: one epoch of the training loader's sequences (the same
// tokenisation, anchors, packing and shuffle as `train`) as Parquet shards for other engines.

import {
  RECALL_KEY_IDS,
  RECALL_LAYOUTS,
  RECALL_VALUE_COUNT,
  RECALL_VALUE_IDS,
  recallTokenizerJson,
  recallTrainingDocuments,
} from "@anllm/evaluator";
import {
  BAD_INPUT_REASONS,
  BadInputReport,
  createLoader,
  DatasetError,
  defaultDatasetPath,
  encodeDocument,
  exportParquet,
  readDocuments,
  resolveDataset,
} from "@anllm/redpajama-loader";
import { atomicWrite } from "@anllm/tensor/io";
import { choice, int, num, type OptionSpecs, required, str, type Values } from "../args";
import type { Command, CommandGroup } from "../command";
import { UsageError } from "../errors";
import { emit, type Io } from "../io";
import { skippedJson, skippedSummary } from "../wiring/data";
import { checkInputPath, checkOutputDir } from "../wiring/paths";
import { ANCHOR_MODES, anchorSetup, loadTokenizer } from "../wiring/tokenizer";

const OPTIONS: OptionSpecs = {
  tokenizer: {
    type: "string",
    arg: "NAME|PATH",
    help: "bytes, llama2 or a tokenizer.json",
    default: "llama2",
  },
  anchor: { type: "string", arg: "ac|ep|none", help: "anchor strategy to count", default: "ac" },
  "max-docs": { type: "string", arg: "N", help: "stop after N documents (0 = all)", default: "0" },
  "seq-len": {
    type: "string",
    arg: "N",
    help: "also count documents longer than N tokens",
    default: "4096",
  },
  strict: { type: "boolean", help: "fail on the first bad record instead of counting it" },
};

const EXPORT_OPTIONS: OptionSpecs = {
  out: { type: "string", arg: "DIR", help: "output folder for the shards (required)" },
  format: { type: "string", arg: "parquet", help: "output format", default: "parquet" },
  tokenizer: OPTIONS.tokenizer as OptionSpecs[string],
  anchor: { type: "string", arg: "ac|ep|none", help: "anchor strategy", default: "ac" },
  "seq-len": { type: "string", arg: "N", help: "tokens per sequence", default: "4096" },
  packing: {
    type: "boolean",
    help: "pack documents into full rows (as train --packing; default one document per row)",
  },
  seed: { type: "string", arg: "N", help: "shuffle seed (as train --seed)", default: "34" },
  "rows-per-shard": {
    type: "string",
    arg: "N",
    help: "sequences per Parquet file",
    default: "10000",
  },
};

/** One epoch of the loader's sequences written as Parquet shards. */
async function exportData(path: string, v: Values) {
  const c = "data export";
  const out = required(c, v, "out", "the output folder");
  choice(c, v, "format", ["parquet"] as const);
  const base = loadTokenizer(c, str(v, "tokenizer")!);
  const mode = choice(c, v, "anchor", ANCHOR_MODES)!;
  const seqLen = int(c, v, "seq-len", 2)!;
  const seed = int(c, v, "seed", 0, 2 ** 32 - 1)!;
  const rowsPerShard = int(c, v, "rows-per-shard", 1)!;
  checkOutputDir(c, "--out", out);
  const { tokenizer, anchors } = anchorSetup(base, mode);
  const loader = await createLoader({
    source: path,
    tokenizer,
    anchors:
      anchors.mode === "none"
        ? { mode: "none" }
        : anchors.mode === "ep"
          ? { mode: "ep", ids: anchors.ids }
          : { mode: "ac" },
    mode: v.packing === true ? "pack" : "paper",
    contextLength: seqLen,
    batchSize: 64,
    shuffle: { seed },
    epochs: 1,
    dropLast: false,
  });
  const meta = {
    tokenizer: tokenizer.name,
    anchor: mode,
    anchor_ids: anchors.ids.join(","),
    seq_len: String(seqLen),
    packing: String(v.packing === true),
    seed: String(seed),
  };
  const r = await exportParquet(loader.batches(), { outDir: out, rowsPerShard, metadata: meta });
  if (r.rows === 0)
    throw new DatasetError(
      `${path}: no usable document, nothing exported. ${skippedSummary(loader.report)}`,
    );
  return {
    path,
    out,
    format: "parquet",
    ...r,
    metadata: meta,
    skippedRecords: skippedJson(loader.report),
    report: loader.report,
  };
}

interface Tally {
  documents: number;
  tokens: number;
  anchors: number;
  characters: number;
}

function tally(): Tally {
  return { documents: 0, tokens: 0, anchors: 0, characters: 0 };
}

async function inspect(path: string, v: Values) {
  const c = "data inspect";
  const base = loadTokenizer(c, str(v, "tokenizer")!);
  const mode = choice(c, v, "anchor", ANCHOR_MODES)!;
  const maxDocs = int(c, v, "max-docs", 0)!;
  const seqLen = int(c, v, "seq-len", 1)!;
  const { tokenizer, anchors } = anchorSetup(base, mode);
  const ds = await resolveDataset(path);
  const report = new BadInputReport(v.strict === true);
  const total = tally();
  const bySubset: Record<string, Tally> = {};
  const byFile: Record<string, Tally> = {};
  let longer = 0;
  let maxTokens = 0;
  for await (const doc of readDocuments(path, { report })) {
    const enc = encodeDocument(doc.text, tokenizer, anchors);
    const a = enc.anchors.reduce((s, x) => s + x, 0);
    for (const t of [total, (bySubset[doc.subset] ??= tally()), (byFile[doc.file] ??= tally())]) {
      t.documents += 1;
      t.tokens += enc.ids.length;
      t.anchors += a;
      t.characters += doc.text.length;
    }
    if (enc.ids.length > seqLen) longer += 1;
    maxTokens = Math.max(maxTokens, enc.ids.length);
    if (maxDocs > 0 && total.documents >= maxDocs) break;
  }
  const skipped = Object.fromEntries(BAD_INPUT_REASONS.map((r) => [r, report.counts[r]]));
  return {
    path,
    layout: ds.layout,
    files: ds.files.length,
    tokenizer: tokenizer.name,
    anchor: { mode, ids: anchors.ids },
    ...total,
    meanTokensPerDocument: total.documents ? total.tokens / total.documents : 0,
    maxTokensPerDocument: maxTokens,
    tokensPerAnchor: total.anchors ? total.tokens / total.anchors : null,
    documentsLongerThanSeqLen: { seqLen, count: longer },
    bySubset,
    byFile,
    skipped: { total: report.total, byReason: skipped, samples: report.samples.slice(0, 10) },
  };
}

function human(r: Awaited<ReturnType<typeof inspect>>): string {
  const lines = [
    `${r.path} (${r.layout}, ${r.files} files), tokenizer ${r.tokenizer}, anchor ${r.anchor.mode}`,
    `documents ${r.documents}, tokens ${r.tokens}, anchors ${r.anchors} ` +
      `(${r.tokensPerAnchor?.toFixed(1) ?? "-"} tokens per anchor), characters ${r.characters}`,
    `tokens per document: mean ${r.meanTokensPerDocument.toFixed(1)}, max ${r.maxTokensPerDocument}; ` +
      `${r.documentsLongerThanSeqLen.count} longer than ${r.documentsLongerThanSeqLen.seqLen}`,
    "by subset:",
    ...Object.entries(r.bySubset).map(
      ([s, t]) => `  ${s.padEnd(16)} ${t.documents} docs, ${t.tokens} tokens, ${t.anchors} anchors`,
    ),
    `skipped records: ${r.skipped.total}`,
    ...Object.entries(r.skipped.byReason)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `  ${reason.padEnd(16)} ${n}`),
    ...r.skipped.samples.map((s) => `  e.g. ${s.file}:${s.line} ${s.reason}: ${s.message}`),
  ];
  return lines.join("\n");
}

/** A subcommand's run on PATH (default: the embedded corpus), checked before any work. */
function onDataset(
  command: string,
  body: (path: string, values: Values, io: Io) => Promise<void>,
): Command["run"] {
  return async ({ values, positionals }, io) => {
    const path = positionals[0] ?? defaultDatasetPath();
    checkInputPath(command, "PATH", path);
    await body(path, values, io);
    return 0;
  };
}

const RECALL_OPTIONS: OptionSpecs = {
  out: { type: "string", arg: "FILE", help: "JSONL file to write (required)" },
  documents: { type: "string", arg: "N", help: "documents", default: "20000" },
  sentences: {
    type: "string",
    arg: "N",
    help: "facts and restatements per document",
    default: "16",
  },
  "min-sentences": {
    type: "string",
    arg: "N",
    help: "the fewest sentences a document (lengths log-uniform in [N, --sentences]; default: --sentences)",
  },
  "repeat-rate": {
    type: "string",
    arg: "P",
    help: "probability that the next sentences restate earlier facts",
    default: "0.5",
  },
  "max-run": {
    type: "string",
    arg: "N",
    help: "a restatement repeats 1 to N consecutive earlier facts",
    default: "4",
  },
  "value-pool": {
    type: "string",
    arg: "N",
    help: "values per document; fewer make each value stand under several keys, so only the key tells it",
    computedDefault: "90 (every value)",
  },
  layout: {
    type: "string",
    arg: "facts|mqar|repeat",
    help: "facts: new facts with restated runs (as the eval prompts); mqar: the facts, then all restated shuffled; repeat: keys alone, then the same keys again (induction pre-training, score every token); --sentences counts facts or keys before the restatement",
    default: "facts",
  },
  seed: { type: "string", arg: "N", help: "generator seed", default: "1" },
  "tokenizer-out": {
    type: "string",
    arg: "FILE",
    help: "also write the recall tokenizer.json (one token per key and per value) for train --tokenizer",
  },
};

/** `anllm data recall`: the associative-recall training documents as RedPajama-style JSONL. */
async function writeRecall(values: Values, io: Io): Promise<void> {
  const c = "data recall";
  const out = required(c, values, "out", "the JSONL file to write");
  const documents = int(c, values, "documents", 1)!;
  const sentences = int(c, values, "sentences", 1)!;
  const minSentences = int(c, values, "min-sentences", 1) ?? sentences;
  if (minSentences > sentences)
    throw new UsageError(c, `--min-sentences ${minSentences} exceeds --sentences ${sentences}`);
  const repeatRate = num(c, values, "repeat-rate", 0, 1)!;
  const valuePool = int(c, values, "value-pool", 1, RECALL_VALUE_COUNT) ?? RECALL_VALUE_COUNT;
  const maxRun = int(c, values, "max-run", 1)!;
  const seed = int(c, values, "seed", 0)!;
  const layout = choice(c, values, "layout", RECALL_LAYOUTS) ?? "facts";
  const options = { sentences, minSentences, repeatRate, maxRun, valuePool, layout };
  const docs = recallTrainingDocuments({ seed, documents, ...options });
  const meta = { source: "anllm-recall", seed, ...options };
  const lines = docs.map((text) => JSON.stringify({ text, meta }));
  await atomicWrite(out, `${lines.join("\n")}\n`);
  const tokenizerOut = str(values, "tokenizer-out");
  if (tokenizerOut !== undefined)
    await atomicWrite(tokenizerOut, `${JSON.stringify(recallTokenizerJson())}\n`);
  const r = {
    out,
    ...(tokenizerOut !== undefined
      ? {
          tokenizerOut,
          keyIds: `${RECALL_KEY_IDS[0]}-${RECALL_KEY_IDS[1]}`,
          valueIds: `${RECALL_VALUE_IDS[0]}-${RECALL_VALUE_IDS[1]}`,
        }
      : {}),
    documents,
    ...options,
    seed,
    bytes: lines.reduce((a, l) => a + l.length + 1, 0),
  };
  emit(
    io,
    values.json === true,
    r,
    () => `wrote ${documents} recall documents (${r.bytes} bytes) to ${out}`,
  );
}

export const dataCommand: CommandGroup = {
  usage: "anllm data <inspect|export|recall> [PATH] [options]",
  subcommands: [
    {
      name: "recall",
      summary: "write synthetic associative-recall documents (key value facts, restated) as JSONL",
      command: {
        usage:
          "anllm data recall --out FILE [--documents N] [--sentences N] [--min-sentences N] [--repeat-rate P] [--max-run N] [--value-pool N] [--layout facts|mqar|repeat] [--seed N] [--tokenizer-out FILE] [--json]",
        about:
          "Seeded documents of ` Ab42 Ab42.` key-value facts (each said twice) where runs of earlier facts are restated: the training " +
          "data of the recall task that `eval cache --policy` scores by distance.",
        options: RECALL_OPTIONS,
        run: async ({ values }, io) => {
          await writeRecall(values, io);
          return 0;
        },
      },
    },
    {
      name: "export",
      summary: "write one epoch of prepared sequences as Parquet shards (ids, anchors, documents)",
      command: {
        usage:
          "anllm data export [PATH] --out DIR [--format parquet] [--tokenizer llama2|bytes|PATH] [--anchor ac|ep|none] [--seq-len N] [--packing] [--json]",
        about:
          "Tokenises PATH like `train` (anchors, packing, shuffle) and writes one epoch as Parquet: " +
          "one row per sequence with input_ids, anchor_mask and doc_ids (int32 lists, no padding) " +
          "and length. PATH defaults to the embedded corpus.",
        options: EXPORT_OPTIONS,
        positionals: 1,
        run: onDataset("data export", async (path, values, io) => {
          const { report, ...r } = await exportData(path, values);
          emit(io, values.json === true, r, () =>
            [
              `wrote ${r.rows} sequences (${r.tokens} tokens) in ${r.files.length} Parquet file(s) to ${r.out}`,
              skippedSummary(report),
            ].join("\n"),
          );
        }),
      },
    },
    {
      name: "inspect",
      summary: "documents, tokens, anchors per subset and file; skipped records by reason",
      command: {
        usage:
          "anllm data inspect [PATH] [--tokenizer llama2|bytes|PATH] [--anchor ac|ep|none] [--json]",
        about:
          "Counts documents, tokens and anchors; lists skipped records by reason. " +
          "PATH defaults to the embedded corpus.",
        options: OPTIONS,
        positionals: 1,
        run: onDataset("data inspect", async (path, values, io) => {
          const r = await inspect(path, values);
          emit(io, values.json === true, r, () => human(r));
        }),
      },
    },
  ],
};
