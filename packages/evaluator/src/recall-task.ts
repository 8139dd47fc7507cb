// The synthetic associative-recall task of the cache-policy comparison: documents of `key value.`
// facts (a key is three lowercase letters, a value two digits), where a fact is later restated
// and the model must produce its value from the key alone. What a cache policy forgot shows as
// recall accuracy falling with the distance between the fact and its query. Seeded: the same
// seed gives the same documents and prompts.
import { EvalConfigError } from "./errors";

/**
 * The task's only source of randomness: mulberry32, fixed here so that a seed names the same
 * documents in every version (the committed results were trained on `data recall --seed 1`).
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One fact: the sentence ` key value.` is its text. */
export interface RecallFact {
  key: string;
  value: string;
}

/** The text of a fact as a sentence (leading space, so sentences concatenate). */
export function factSentence(f: RecallFact): string {
  return ` ${f.key} ${f.value}.`;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** `n` facts with distinct keys (n <= 17576), seeded. */
export function recallFacts(seed: number, n: number): RecallFact[] {
  if (!Number.isInteger(n) || n < 0 || n > 26 ** 3)
    throw new EvalConfigError(`recallFacts: n must be an integer in [0, ${26 ** 3}], got ${n}`);
  const r = mulberry32(seed);
  const seen = new Set<string>();
  const out: RecallFact[] = [];
  while (out.length < n) {
    const key = Array.from({ length: 3 }, () => LETTERS[Math.floor(r() * 26)]).join("");
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key, value: String(10 + Math.floor(r() * 90)) });
  }
  return out;
}

/** Options of {@link recallTrainingDocuments}. */
export interface RecallTrainingOptions {
  seed: number;
  documents: number;
  /** sentences per document (default 64) */
  sentences?: number;
  /** probability that a sentence restates an earlier fact of the document (default 0.4) */
  repeatRate?: number;
}

/**
 * Training documents: each sentence is a new fact or, with `repeatRate`, an earlier fact of the
 * same document restated (the query the model learns to answer).
 */
export function recallTrainingDocuments(o: RecallTrainingOptions): string[] {
  const r = mulberry32(o.seed ^ 0x5bd1e995);
  const per = o.sentences ?? 64;
  const rate = o.repeatRate ?? 0.4;
  const out: string[] = [];
  for (let d = 0; d < o.documents; d++) {
    // fresh keys and values per document: a value can only come from the document itself
    const pool = recallFacts((o.seed * 1000003 + d) >>> 0, Math.min(26 ** 3, per * 2));
    const facts: RecallFact[] = [];
    const used = new Set<number>();
    let text = "";
    for (let s = 0; s < per; s++) {
      if (facts.length > 0 && r() < rate) {
        text += factSentence(facts[Math.floor(r() * facts.length)] as RecallFact);
        continue;
      }
      let i = Math.floor(r() * pool.length);
      while (used.has(i)) i = (i + 1) % pool.length;
      used.add(i);
      facts.push(pool[i] as RecallFact);
      text += factSentence(pool[i] as RecallFact);
    }
    out.push(text.trimStart());
  }
  return out;
}

/** Token ids of one fact: its whole sentence, the query (the key part) and the answer. */
export interface TokenizedFact {
  /** the whole sentence (query + answer + sentence end), as in the document */
  sentence: Int32Array;
  /** tokens of ` key` */
  query: Int32Array;
  /** tokens of ` value` (what the model must produce after the query) */
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

/** Tokenizes a fact as query + answer + "." so the three always line up (any tokenizer). */
export function tokenizeFact(f: RecallFact, encode: (text: string) => number[]): TokenizedFact {
  const query = Int32Array.from(encode(` ${f.key}`));
  const answer = Int32Array.from(encode(` ${f.value}`));
  const end = encode(".");
  return { query, answer, sentence: Int32Array.from([...query, ...answer, ...end]) };
}
