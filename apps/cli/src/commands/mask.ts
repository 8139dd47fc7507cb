// `anllm mask`: tokenises a text, marks its anchors (EP: "." pieces; AC: <AC> after each sentence)
// and prints the anchor attention mask (apps/docs/guide/method.md §The rule) with anchor-mask's
// pretty printer.

import { buildAnchorMask, formatMask, segmentIds } from "@anllm/anchor-mask";
import { encodeDocument } from "@anllm/redpajama-loader";
import { choice, intList, type OptionSpecs, required, str } from "../args";
import type { Command } from "../command";
import { UsageError } from "../errors";
import { emit } from "../io";
import { ANCHOR_MODES, anchorSetup, loadTokenizer } from "../wiring/tokenizer";

const OPTIONS: OptionSpecs = {
  text: { type: "string", arg: "TEXT", help: "the text to tokenise (required)" },
  anchor: { type: "string", arg: "ep|ac|none", help: "anchor strategy", default: "ep" },
  tokenizer: {
    type: "string",
    arg: "NAME|PATH",
    help: "bytes, llama2 or a tokenizer.json",
    default: "llama2",
  },
  "anchor-ids": { type: "string", arg: "IDS", help: "EP anchor token ids, e.g. 29889,29892" },
  "max-tokens": {
    type: "string",
    arg: "N",
    help: "refuse longer texts (the table gets wide)",
    default: "48",
  },
};

export const maskCommand: Command = {
  usage: 'anllm mask --text "..." [--anchor ep|ac] [--tokenizer llama2|bytes|PATH] [--json]',
  about: "Tokenises TEXT, marks anchors and prints the mask (1 = may attend; rows = queries).",
  options: OPTIONS,
  async run({ values }, io) {
    const text = required("mask", values, "text", "the text whose mask to print");
    const mode = choice("mask", values, "anchor", ANCHOR_MODES)!;
    const maxTokens = Number(str(values, "max-tokens"));
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new UsageError(
        "mask",
        `--max-tokens expects an integer >= 1, got "${str(values, "max-tokens")}"`,
      );
    }
    const base = loadTokenizer("mask", str(values, "tokenizer")!);
    const { tokenizer, anchors } = anchorSetup(
      base,
      mode,
      undefined,
      intList("mask", values, "anchor-ids"),
    );
    const doc = encodeDocument(text, tokenizer, anchors);
    if (doc.ids.length > maxTokens) {
      throw new UsageError(
        "mask",
        `the text has ${doc.ids.length} tokens, more than --max-tokens ${maxTokens}; shorten it or raise the limit`,
      );
    }
    const pieces = Array.from(doc.ids, (id) => tokenizer.idToPiece(id) ?? String(id));
    const labels = pieces.map((p, i) => (doc.anchors[i] ? `${p}*` : p));
    const mask = buildAnchorMask(doc.anchors);
    const table = formatMask(mask, { labels, maxSize: maxTokens });
    emit(
      io,
      values.json === true,
      {
        tokens: Array.from(doc.ids),
        pieces,
        isAnchor: Array.from(doc.anchors),
        segmentIds: Array.from(segmentIds(doc.anchors)),
        anchorIds: anchors.ids,
        mask: Array.from({ length: doc.ids.length }, (_, i) =>
          Array.from(mask.subarray(i * doc.ids.length, (i + 1) * doc.ids.length)).join(""),
        ),
      },
      () =>
        `${tokenizer.name}, anchor ${mode} (ids ${anchors.ids.join(",") || "-"}), ${doc.ids.length} tokens, ` +
        `${doc.anchors.reduce((a, b) => a + b, 0)} anchors (marked *)\n\n${table}`,
    );
    return 0;
  },
};
