// The synthetic associative-recall task of the cache-policy comparison: documents of ` Ab42 Ab42.`
// facts (a key is an uppercase and a lowercase letter, its value two digits glued to it, and the
// pair said twice), where a fact is later restated and the model must produce its value from the key
// alone. What a cache policy forgot shows as recall accuracy falling with the distance between the
// fact and its query. Seeded: the same seed gives the same documents and prompts.
//
// Why this shape (the first version, three lowercase letters per key and 64-sentence documents,
// was never learned by the small preset in 160 steps):
// - a key starts with an uppercase letter so that the sentence splitter (CLDR rules: a period
//   followed by a lowercase word does not end a sentence) ends every fact at its period: with
//   lowercase keys a whole document was one sentence and an AnLLM-AC model saw no anchor inside it;
// - two letters (676 keys) are enough for distinct keys in a 2048-token prompt (10 byte tokens a
//   fact, 5 with the recall tokenizer, which makes each key and each value one token);
// - the pair is said twice, so every sentence is a short induction example (at the second key the
//   next token is the one after the first key): the circuit learned there answers queries far
//   away. With one pair (` Ab42.`), or the key alone repeated, the small preset trained with the
//   same recipe recalled only the last fact or two. The sentence ends after digits: a period right
//   after a key (` Ab42 Ab.`) is read as an abbreviation by the sentence splitter for some keys
//   (` In.`, ` Mr.`), which then get no anchor;
// - training documents restate earlier facts (runs of them with `maxRun`), can mix short and long
//   documents (`minSentences`) and can draw their values from a small pool (`valuePool`), so that
//   only the key tells a restated value; the results jobs use 4 to 64 facts, 80% of the sentences
//   restating one earlier fact (guide/cache-policies.md).
// The task's only randomness is the project's seeded generator (mulberry32), so a seed names the same
// facts in every version.
import { bpeModelEntry, specialTokenEntry } from "@anllm/redpajama-loader";
import { seededRandom } from "@anllm/tensor";
import { EvalConfigError } from "./errors";

/** One fact: the sentence ` Keyvalue Keyvalue.` (e.g. ` Ab42 Ab42.`) is its text. */
export interface RecallFact {
  key: string;
  value: string;
}

/** The text of a fact as a sentence (leading space, so sentences concatenate). */
export function factSentence(f: RecallFact): string {
  return ` ${f.key}${f.value} ${f.key}${f.value}.`;
}

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
/** How many distinct values there are (10..99). */
export const RECALL_VALUE_COUNT = 90;
/** How many distinct keys there are (an uppercase letter, then a lowercase one). */
export const RECALL_KEY_COUNT = 26 * 26;

/** `n` facts with distinct keys (n <= {@link RECALL_KEY_COUNT}), seeded. */
export function recallFacts(seed: number, n: number): RecallFact[] {
  if (!Number.isInteger(n) || n < 0 || n > RECALL_KEY_COUNT)
    throw new EvalConfigError(
      `recallFacts: n must be an integer in [0, ${RECALL_KEY_COUNT}], got ${n}`,
    );
  const r = seededRandom(seed).next;
  const seen = new Set<string>();
  const out: RecallFact[] = [];
  while (out.length < n) {
    const key = `${UPPER[Math.floor(r() * 26)]}${LOWER[Math.floor(r() * 26)]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key, value: String(10 + Math.floor(r() * RECALL_VALUE_COUNT)) });
  }
  return out;
}

/** Options of {@link recallTrainingDocuments}. */
export interface RecallTrainingOptions {
  seed: number;
  documents: number;
  /** sentences per document (default 16); the most, with `minSentences` */
  sentences?: number;
  /**
   * the fewest sentences per document (default: `sentences`): lengths are then drawn log-uniformly
   * in [minSentences, sentences], so that short documents (few keys to tell apart, where the lookup
   * circuit forms first) and long ones (the distances asked) are both seen
   */
  minSentences?: number;
  /** probability that the next sentences restate earlier facts of the document (default 0.5) */
  repeatRate?: number;
  /** a restatement repeats a run of 1 to `maxRun` consecutive earlier facts, in order (default 4) */
  maxRun?: number;
  /**
   * values per document (default: every value, 10..99): a document's facts take their values from
   * this many values drawn for it, so that each value stands under several keys and only the key
   * tells a restated fact's value (no "copy a value seen before" shortcut)
   */
  valuePool?: number;
  /**
   * How a document is laid out (default "facts"):
   * - "facts": new facts, with runs of earlier ones restated at `repeatRate` (the layout of the
   *   evaluation prompts);
   * - "mqar": the document's facts, then all of them restated in a seeded random order (the MQAR
   *   layout of the Zoology paper: every second value is a lookup);
   * - "repeat": a sequence of keys alone (` Ab Cd ...`), then the same sequence again: the purest
   *   signal for the induction circuit the lookup needs (every token of the copy is predictable),
   *   to train with every token scored before the fact layouts.
   * `sentences` / `minSentences` count facts ("mqar") or keys ("repeat") before the restatement.
   */
  layout?: RecallLayout;
}

/** Document layouts of {@link recallTrainingDocuments}. */
export type RecallLayout = "facts" | "mqar" | "repeat";
export const RECALL_LAYOUTS: readonly RecallLayout[] = ["facts", "mqar", "repeat"];

/**
 * Training documents. In the "facts" layout each step adds a new fact or, with `repeatRate`,
 * restates a run of consecutive earlier facts of the same document (the queries the model learns to
 * answer; the run's later keys are predictable by copying too, which teaches the copying early);
 * "mqar" and "repeat" are described at {@link RecallTrainingOptions.layout}.
 */
export function recallTrainingDocuments(o: RecallTrainingOptions): string[] {
  const r = seededRandom(o.seed ^ 0x5bd1e995).next;
  const per = o.sentences ?? 16;
  const rate = o.repeatRate ?? 0.5;
  const maxRun = o.maxRun ?? 4;
  const fewest = o.minSentences ?? per;
  const valuePool = o.valuePool ?? RECALL_VALUE_COUNT;
  const layout = o.layout ?? "facts";
  if (!RECALL_LAYOUTS.includes(layout))
    throw new EvalConfigError(
      `recallTrainingDocuments: layout must be one of ${RECALL_LAYOUTS.join(", ")}, got ${String(layout)}`,
    );
  if (!Number.isInteger(valuePool) || valuePool < 1 || valuePool > RECALL_VALUE_COUNT)
    throw new EvalConfigError(
      `recallTrainingDocuments: valuePool must be an integer in [1, ${RECALL_VALUE_COUNT}], got ${valuePool}`,
    );
  if (!Number.isInteger(per) || per < 1 || per > RECALL_KEY_COUNT)
    throw new EvalConfigError(
      `recallTrainingDocuments: sentences must be an integer in [1, ${RECALL_KEY_COUNT}], got ${per}`,
    );
  if (!Number.isInteger(fewest) || fewest < 1 || fewest > per)
    throw new EvalConfigError(
      `recallTrainingDocuments: minSentences must be an integer in [1, ${per}], got ${fewest}`,
    );
  if (!Number.isInteger(maxRun) || maxRun < 1)
    throw new EvalConfigError(
      `recallTrainingDocuments: maxRun must be an integer >= 1, got ${maxRun}`,
    );
  const out: string[] = [];
  for (let d = 0; d < o.documents; d++) {
    // fresh keys and values per document: a value can only come from the document itself
    const count =
      fewest === per
        ? per
        : Math.min(
            per,
            Math.floor(Math.exp(Math.log(fewest) + r() * Math.log((per + 1) / fewest))),
          );
    const pool = recallFacts((o.seed * 1000003 + d) >>> 0, count);
    if (layout === "repeat") {
      const keys = pool.map((f) => ` ${f.key}`).join("");
      out.push(keys + keys);
      continue;
    }
    if (valuePool < RECALL_VALUE_COUNT) {
      const values = drawValues(r, valuePool);
      for (const f of pool) f.value = values[Math.floor(r() * valuePool)] as string;
    }
    if (layout === "mqar") {
      const asked = [...pool];
      for (let i = asked.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [asked[i], asked[j]] = [asked[j] as RecallFact, asked[i] as RecallFact];
      }
      out.push([...pool, ...asked].map(factSentence).join(""));
      continue;
    }
    const facts: RecallFact[] = [];
    const sentences: RecallFact[] = [];
    while (sentences.length < count) {
      if (facts.length > 0 && r() < rate) {
        const from = Math.floor(r() * facts.length);
        const run = 1 + Math.floor(r() * maxRun);
        sentences.push(...facts.slice(from, from + run));
        continue;
      }
      const f = pool[facts.length] as RecallFact;
      facts.push(f);
      sentences.push(f);
    }
    // the leading space stays: every fact, the first too, tokenizes the same (` Ab` is one token of
    // the recall tokenizer)
    out.push(sentences.slice(0, count).map(factSentence).join(""));
  }
  return out;
}

const FALLBACK_CHARS = [
  " ",
  ".",
  "\n",
  ",",
  "?",
  "!",
  ";",
  ":",
  ..."0123456789",
  ...UPPER,
  ...LOWER,
];

/**
 * Ids of the keys ` Aa`..` Zz` in {@link recallTokenizerJson} (inclusive): with the values, what
 * `train --loss-ids` scores (a key opening a new fact cannot be predicted, its repeat can).
 */
export const RECALL_KEY_IDS: readonly [number, number] = [
  4 + FALLBACK_CHARS.length + 26,
  4 + FALLBACK_CHARS.length + 26 + 26 * 26 - 1,
];

/**
 * Ids of the values `10`..`99` in {@link recallTokenizerJson} (inclusive): what `train --loss-ids`
 * scores when only the answers should be learned.
 */
export const RECALL_VALUE_IDS: readonly [number, number] = [
  4 + FALLBACK_CHARS.length + 26 + 26 * 26,
  4 + FALLBACK_CHARS.length + 26 + 26 * 26 + RECALL_VALUE_COUNT - 1,
];

/**
 * The recall task's own tokenizer, as a Hugging Face tokenizer.json (BPE): every key with its
 * leading space (` Ab`) and every two-digit value (`42`) is one token, so a fact is five tokens
 * (` Ab`, `42`, ` Ab`, `42`, `.`) and recall needs a one-token match, as in the MQAR task of the
 * Zoology paper;
 * with the byte tokenizer a key is two bytes and a value two more, and the tiny and small presets
 * did not learn the multi-token lookup in their training budget. Other text falls back to single
 * characters (`<unk>` outside that set). Ids: `<unk>` 0, `<s>` 1, `</s>` 2, `<pad>` 3 (the presets'
 * BOS and EOS), then the characters, the keys and the values (866 ids).
 */
export function recallTokenizerJson(): Record<string, unknown> {
  const specials = ["<unk>", "<s>", "</s>", "<pad>"];
  const vocab: Record<string, number> = {};
  let id = 0;
  for (const piece of [...specials, ...FALLBACK_CHARS]) vocab[piece] = id++;
  const merges: [string, string][] = [];
  const merge = (a: string, b: string) => {
    merges.push([a, b]);
    vocab[a + b] = id++;
  };
  for (const u of UPPER) merge(" ", u);
  for (const u of UPPER) for (const l of LOWER) merge(` ${u}`, l);
  for (let v = 10; v < 100; v++) merge(String(v)[0] as string, String(v)[1] as string);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => specialTokenEntry(i, content)),
    normalizer: null,
    // words keep their leading space (` Ab42`, ` Ab42.` are pre-tokens): BPE never crosses facts
    pre_tokenizer: {
      type: "Split",
      pattern: { Regex: " ?[^ ]+| +" },
      behavior: "Isolated",
      invert: false,
    },
    post_processor: null,
    decoder: { type: "Fuse" },
    model: bpeModelEntry(vocab, merges),
  };
}

/** `n` distinct two-digit values, seeded by `r`. */
function drawValues(r: () => number, n: number): string[] {
  const all = Array.from({ length: RECALL_VALUE_COUNT }, (_, i) => String(10 + i));
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(r() * (RECALL_VALUE_COUNT - i));
    [all[i], all[j]] = [all[j] as string, all[i] as string];
  }
  return all.slice(0, n);
}

/** Token ids of one fact: its whole sentence, the query (the key part) and the answer. */
export interface TokenizedFact {
  /** the whole sentence (query + answer, twice, + sentence end), as in the document */
  sentence: Int32Array;
  /** tokens of ` key` */
  query: Int32Array;
  /** tokens of `value` (what the model must produce right after the query) */
  answer: Int32Array;
}

/** One recall query inside a prompt. */
export interface RecallQuery {
  /** tokens between the fact's first token and the query's first token */
  distance: number;
  /** the distance bucket it was placed for */
  target: number;
  /** index in the prompt of the first answer token */
  answerAt: number;
  answerLength: number;
}

/** A prompt of facts followed by restated facts whose answers are scored. */
export interface RecallPrompt {
  ids: Int32Array;
  queries: RecallQuery[];
}

/**
 * A prompt of `length` tokens: new facts, with restated facts (the queries) interleaved wherever an
 * unasked fact lies at one of the `distances` behind (within a quarter of the distance, at least
 * half a sentence), until each distance has `perDistance` queries or the prompt is full; each
 * sentence ends with `appendAnchorId` when given (AnLLM-AC). Distances not below `length` are
 * skipped; `queries` records every query's real distance.
 * @param facts tokenized facts with distinct keys, enough to fill the prompt
 */
export function recallPrompt(
  facts: readonly TokenizedFact[],
  length: number,
  distances: readonly number[],
  opts: { bosId?: number; appendAnchorId?: number; perDistance?: number } = {},
): RecallPrompt {
  const per = opts.perDistance ?? 1;
  const sentence = (f: TokenizedFact) =>
    opts.appendAnchorId !== undefined
      ? Int32Array.from([...f.sentence, opts.appendAnchorId])
      : f.sentence;
  const longest = Math.max(...facts.map((f) => sentence(f).length));
  // queries still wanted per distance (longest first: they can only come late)
  const wanted = new Map(
    [...distances]
      .filter((d) => d < length)
      .sort((a, b) => b - a)
      .map((d) => [d, per] as [number, number]),
  );
  const ids: number[] = opts.bosId !== undefined ? [opts.bosId] : [];
  const starts: { at: number; fact: number; asked: boolean }[] = [];
  const queries: RecallQuery[] = [];
  let next = 0;
  while (ids.length + longest <= length) {
    const at = ids.length;
    let placed = false;
    for (const [d, left] of wanted) {
      if (left === 0) continue;
      const slack = Math.max(Math.ceil(longest / 2), Math.floor(d / 4));
      const hit = starts.find((s) => !s.asked && Math.abs(at - s.at - d) <= slack);
      if (!hit) continue;
      hit.asked = true;
      wanted.set(d, left - 1);
      const f = facts[hit.fact] as TokenizedFact;
      queries.push({
        distance: at - hit.at,
        target: d,
        answerAt: at + f.query.length,
        answerLength: f.answer.length,
      });
      ids.push(...sentence(f));
      placed = true;
      break;
    }
    if (placed) continue;
    if (next >= facts.length)
      throw new EvalConfigError(`recallPrompt: ${facts.length} facts do not fill ${length} tokens`);
    starts.push({ at, fact: next, asked: false });
    ids.push(...sentence(facts[next] as TokenizedFact));
    next++;
  }
  return { ids: Int32Array.from(ids), queries };
}

/**
 * Tokenizes a fact as query + answer, twice, + "." so the parts always line up (any tokenizer).
 */
export function tokenizeFact(f: RecallFact, encode: (text: string) => number[]): TokenizedFact {
  const query = Int32Array.from(encode(` ${f.key}`));
  const answer = Int32Array.from(encode(f.value));
  const end = encode(".");
  return {
    query,
    answer,
    sentence: Int32Array.from([...query, ...answer, ...query, ...answer, ...end]),
  };
}
