// `anllm generate`: samples a continuation from a trained model with anchor inference (the KV
// cache keeps only anchors + the open segment, apps/docs/guide/method.md §The cache bookkeeping)
// or a full cache, and reports the cache's peak size against the full size.

import { generate } from "@anllm/llama2-model";
import { encodePrompt } from "@anllm/redpajama-loader/text";
import { choice, int, intList, num, type OptionSpecs, required, str } from "../args";
import type { Command } from "../command";
import { UsageError } from "../errors";
import { emit } from "../io";
import { ensureDevice } from "../wiring/device";
import { checkIdsInVocab, loadModelFromOptions, MODEL_OPTIONS } from "../wiring/model";
import { POLICY_OPTION, parsePolicies, separatorIds } from "../wiring/policy";

const OPTIONS: OptionSpecs = {
  ...MODEL_OPTIONS,
  prompt: { type: "string", arg: "TEXT", help: "prompt text" },
  "prompt-ids": { type: "string", arg: "IDS", help: "prompt as token ids, e.g. 1,450,4996" },
  "max-new-tokens": { type: "string", arg: "N", help: "tokens to generate", default: "64" },
  attention: { type: "string", arg: "full|anchor", help: "KV cache policy", default: "anchor" },
  policy: { ...POLICY_OPTION, help: `${POLICY_OPTION.help}; replaces --attention` },

  greedy: { type: "boolean", help: "argmax decoding (the default unless --temperature is given)" },
  temperature: { type: "string", arg: "T", help: "sampling temperature (> 0)" },
  "top-k": { type: "string", arg: "K", help: "sample among the K most likely tokens" },
  "top-p": { type: "string", arg: "P", help: "nucleus sampling mass in (0, 1]" },
  seed: { type: "string", arg: "N", help: "sampling seed", default: "34" },
  "chunk-size": {
    type: "string",
    arg: "N",
    help: "prefill chunk size (the cache is reduced after each chunk)",
    default: "64",
  },
  "extend-positions": {
    type: "boolean",
    help: "allow prompt + new tokens above the model's max_position_embeddings (warns)",
  },
};

const USAGE =
  "anllm generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) [--max-new-tokens N] [--attention full|anchor | --policy NAME[:k=v,...]] [--greedy | --temperature T --top-k K --top-p P] [--seed N] [--json]";

export const generateCommand: Command = {
  usage: USAGE,
  about: "Generates from a prompt; the anchor cache drops non-anchor K/V of finished segments.",
  options: OPTIONS,
  async run({ values: v }, io) {
    const c = "generate";
    required(c, v, "model", "the model folder");
    const promptText = str(v, "prompt");
    const promptIds = intList(c, v, "prompt-ids");
    if ((promptText === undefined) === (promptIds === undefined)) {
      throw new UsageError(c, "give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
    }
    const maxNew = int(c, v, "max-new-tokens", 1, 1 << 20)!;
    const attention = choice(c, v, "attention", ["full", "anchor"] as const)!;
    const policyText = str(v, "policy");
    const policies = policyText !== undefined ? parsePolicies(c, policyText) : undefined;
    if (policies && policies.length > 1)
      throw new UsageError(c, `--policy takes one policy here, got ${policies.length}`);
    const policy = policies?.[0];
    const temperature = num(c, v, "temperature", 0);
    if (temperature !== undefined && v.greedy)
      throw new UsageError(c, "--greedy and --temperature exclude each other");
    if (temperature === 0)
      throw new UsageError(c, "--temperature must be > 0 (use --greedy for argmax)");
    const topK = int(c, v, "top-k", 1);
    const topP = num(c, v, "top-p", 0, 1);
    if (topP === 0) throw new UsageError(c, "--top-p must be in (0, 1]");
    const seed = int(c, v, "seed", 0, 2 ** 32 - 1)!;
    const chunkSize = int(c, v, "chunk-size", 1)!;
    await ensureDevice(io);
    const l = await loadModelFromOptions(c, v, io);
    const vocab = l.model.config.vocabSize;
    const anchorIds = l.anchors.ids;
    const prompt = promptIds
      ? Int32Array.from(promptIds)
      : encodePrompt(promptText!, l.tokenizer, l.anchors);
    try {
      if (promptIds) checkIdsInVocab("", "--prompt-ids", promptIds, vocab, c);
      if (prompt.length === 0) throw new UsageError(c, "the prompt encodes to no tokens");
      const needed = prompt.length + maxNew;
      const max = l.model.config.maxSeqLen;
      if (needed > max) {
        const what = `the prompt (${prompt.length} tokens) + --max-new-tokens ${maxNew} = ${needed} positions`;
        if (v["extend-positions"] !== true) {
          throw new UsageError(
            c,
            `${what} exceed the model's max_position_embeddings ${max}; shorten them, or pass --extend-positions to go beyond the positions it was trained on`,
          );
        }
        io.err(
          `warning: --extend-positions: ${what}, beyond the model's max_position_embeddings ${max} (output past it may be meaningless)\n`,
        );
      }
    } catch (e) {
      l.model.dispose();
      throw e;
    }
    const res = await generate(l.model, [prompt], {
      maxNewTokens: maxNew,
      ...(temperature !== undefined
        ? { temperature, ...(topK ? { topK } : {}), ...(topP ? { topP } : {}) }
        : {}),
      seed,
      eosId: l.tokenizer.eosId,
      anchorIds,
      cache: policy ? policy.policy : attention === "anchor" ? "anchor" : "full",
      ...(policy ? { separatorIds: separatorIds(l.tokenizer, [policy]) } : {}),
      chunkSize,
    });
    const tokens = Array.from(res.tokens[0]!);
    const peak = res.stats.peakEntries[0]!;
    const full = res.stats.fullEntries[0]!;
    const out = {
      tokens,
      text: l.tokenizer.decode(tokens),
      prompt: { tokens: Array.from(prompt), text: l.tokenizer.decode(prompt) },
      attention,
      ...(policy ? { policy: policy.spec } : {}),
      anchorIds,
      dtype: l.model.dtype,
      cache: {
        meanEntries: res.stats.meanEntries[0],
        peakEntries: peak,
        fullEntries: full,
        reduction: full > 0 ? 1 - peak / full : 0,
        peakBytes: res.stats.peakBytes,
        fullBytes: res.stats.fullBytes,
      },
      timeMs: res.timeMs,
      tokensPerSec: (tokens.length * 1000) / Math.max(1e-9, res.timeMs),
    };
    emit(io, v.json === true, out, () =>
      [
        `prompt: ${JSON.stringify(out.prompt.text)}`,
        `output: ${JSON.stringify(out.text)}`,
        `${tokens.length} tokens in ${(res.timeMs / 1000).toFixed(2)} s (${out.tokensPerSec.toFixed(1)} tok/s), ` +
          `${policy?.spec ?? attention} cache: peak ${peak} of ${full} entries (reduction ${(100 * out.cache.reduction).toFixed(1)}%)`,
      ].join("\n"),
    );
    l.model.dispose();
    return 0;
  },
};
