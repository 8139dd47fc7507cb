// Passkey retrieval (Landmark Attention / LongLoRA's passkey_retrivial.py prompt): a random
// number hidden at a chosen depth of repeated filler text, then the question; the model must
// generate the number. For real checkpoints: a tiny model trained in minutes cannot do it.
import { seededRandom } from "@anllm/tensor";
import { EvalConfigError } from "./errors";
import type { Scorer, ScorerGenerateOptions } from "./scorer";

const TASK =
  "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.";
const FILLER =
  " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
const QUESTION = " What is the pass key? The pass key is";

/** One passkey prompt: the token ids and the number to retrieve. */
export interface PasskeyPrompt {
  ids: Int32Array;
  passkey: string;
  /** tokens of ` <passkey>` (what a correct greedy continuation starts with) */
  answer: Int32Array;
  /** fraction of the filler before the passkey sentence */
  depth: number;
}

/**
 * The prompt of about `length` tokens (filler repeated to fill it) with a 5-digit passkey (from
 * `seed`) after `depth` (0..1) of the filler.
 */
export function passkeyPrompt(
  encode: (text: string) => number[],
  length: number,
  depth: number,
  seed: number,
  bosId?: number,
): PasskeyPrompt {
  if (!(depth >= 0 && depth <= 1))
    throw new EvalConfigError(`passkey depth must be in [0, 1], got ${depth}`);
  const passkey = String(10000 + Math.floor(seededRandom(seed).next() * 90000));
  const key = ` The pass key is ${passkey}. Remember it. ${passkey} is the pass key.`;
  const fixed = encode(TASK + key + QUESTION).length + (bosId !== undefined ? 1 : 0);
  const per = encode(FILLER).length;
  const repeats = Math.max(0, Math.floor((length - fixed) / per));
  const before = Math.round(repeats * depth);
  const text = TASK + FILLER.repeat(before) + key + FILLER.repeat(repeats - before) + QUESTION;
  const ids = [...(bosId !== undefined ? [bosId] : []), ...encode(text)];
  return {
    ids: Int32Array.from(ids),
    passkey,
    answer: Int32Array.from(encode(` ${passkey}`)),
    depth,
  };
}

/** Accuracy of one (length, depth) cell. */
export interface PasskeyCell {
  length: number;
  depth: number;
  correct: number;
  trials: number;
  accuracy: number;
  /** mean prompt tokens */
  tokens: number;
}

/**
 * Passkey accuracy by length and depth under one generation setting (`cache`: a policy, "full"
 * or "none"): greedy decoding of the answer's length, exact match of its tokens.
 */
export async function runPasskey(
  scorer: Scorer,
  encode: (text: string) => number[],
  opts: {
    lengths: readonly number[];
    depths: readonly number[];
    trials: number;
    seed?: number;
    bosId?: number;
    generate: Omit<ScorerGenerateOptions, "maxNewTokens">;
  },
): Promise<PasskeyCell[]> {
  const out: PasskeyCell[] = [];
  for (const length of opts.lengths)
    for (const depth of opts.depths) {
      let correct = 0;
      let tokens = 0;
      for (let t = 0; t < opts.trials; t++) {
        const p = passkeyPrompt(encode, length, depth, (opts.seed ?? 0) * 7919 + t, opts.bosId);
        tokens += p.ids.length;
        const r = await scorer.generate([p.ids], {
          ...opts.generate,
          maxNewTokens: p.answer.length,
        });
        const got = r.tokens[0] ?? new Int32Array(0);
        if (got.length === p.answer.length && got.every((x, i) => x === p.answer[i])) correct++;
      }
      out.push({
        length,
        depth,
        correct,
        trials: opts.trials,
        accuracy: correct / opts.trials,
        tokens: tokens / opts.trials,
      });
    }
  return out;
}
