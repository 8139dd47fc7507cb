// `anllm data inspect PATH`: reads a RedPajama-layout dataset (folder, file or files), tokenises
// every document with the chosen anchors and reports documents, tokens, anchors and sentences per
// subset and file, plus every skipped record counted by reason (with the first few locations).

import {
  BAD_INPUT_REASONS,
  BadInputReport,
  defaultDatasetPath,
  encodeDocument,
  readDocuments,
  resolveDataset,
} from "@anllm/redpajama-loader";
import { choice, int, type OptionSpecs, str, type Values } from "../args";
import type { CommandGroup } from "../command";
import { emit } from "../io";
import { checkInputPath } from "../wiring/paths";
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

export const dataCommand: CommandGroup = {
  usage: "anllm data <inspect> [PATH] [options]",
  subcommands: [
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
        async run({ values, positionals }, io) {
          const path = positionals[0] ?? defaultDatasetPath();
          checkInputPath("data inspect", "PATH", path);
          const r = await inspect(path, values);
          emit(io, values.json === true, r, () => human(r));
          return 0;
        },
      },
    },
  ],
};
