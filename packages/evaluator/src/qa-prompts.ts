// Pre-0.4 lm-eval-harness prompt rules: seeded document order and few-shot picks (Python RNG),
// "\n\n"-joined demonstrations (optionally ending in an AC anchor), " " target delimiter,
// `_encode_pair`, optional BOS and left truncation to max_length + 1 tokens.
import { EvalConfigError } from "./errors";
import { PyRandom } from "./py-random";
import type { QaDoc } from "./qa-tasks";
import type { TextTokenizer } from "./token-file";

/** Prompt options. */
export interface PromptOptions {
  /** Demonstrations per prompt (0 = zero-shot). */
  numFewshot: number;
  /** Seed of the harness RNG that shuffles the docs and samples shots (pre-0.4: 42). */
  seed?: number;
  /** Text appended to every demonstration, e.g. "<AC>" for AnLLM-AC (must tokenise to the anchor). */
  demoAnchorText?: string;
  /** Optional rewrite of every doc_to_text / target (e.g. insert AC anchors after each sentence). */
  transformText?: (text: string) => string;
  /** Score only the first N documents of the shuffled order (harness --limit). */
  limit?: number;
}

/** One log-likelihood request (text level). */
export interface TextRequest {
  context: string;
  continuation: string;
}

/** A document with its requests (one per choice). */
export interface PreparedDoc {
  doc: QaDoc;
  /** Position of the document in the input file. */
  index: number;
  requests: TextRequest[];
}

/** `"\n\n".join(text + target [+ anchor] for shots) + "\n\n" + text`; no separator when k = 0. */
export function fewshotContext(doc: QaDoc, shots: readonly QaDoc[], opts: PromptOptions): string {
  const tx = opts.transformText ?? ((s: string) => s);
  const anchor = opts.demoAnchorText ?? "";
  const labeled = shots.map((s) => tx(s.text) + tx(s.target) + anchor).join("\n\n");
  return (shots.length > 0 ? `${labeled}\n\n` : "") + tx(doc.text);
}

/** Pre-0.4 `append_context`: replace the last "\n\n" piece of ctx with the partial context. */
export function appendContext(ctx: string, partial: string): string {
  const pieces = ctx.split("\n\n");
  pieces.pop();
  return pieces.length > 0 ? [...pieces, partial].join("\n\n") : partial;
}

/** The requests of one document given its few-shot context (target delimiter " "). */
export function docRequests(doc: QaDoc, ctx: string, opts: PromptOptions): TextRequest[] {
  const tx = opts.transformText ?? ((s: string) => s);
  if (doc.kind === "winogrande") {
    const p = doc.partial!;
    return p.contexts.map((c) => ({
      context: appendContext(ctx, tx(c)),
      continuation: p.continuation,
    }));
  }
  return doc.choices.map((c) => ({ context: ctx, continuation: ` ${c}` }));
}

/**
 * Harness document order and prompts: shuffle with Random(seed), take `limit`, then per document sample
 * shots from the training docs (or k+1 from the eval docs minus the document itself).
 */
export function prepareDocs(
  docs: readonly QaDoc[],
  trainDocs: readonly QaDoc[] | undefined,
  opts: PromptOptions,
): PreparedDoc[] {
  const k = opts.numFewshot;
  if (!(k >= 0)) throw new EvalConfigError(`numFewshot must be >= 0, got ${k}`);
  const pool = trainDocs && trainDocs.length > 0 ? trainDocs : undefined;
  if (k > (pool ? pool.length : docs.length - 1)) {
    throw new EvalConfigError(
      `${k}-shot needs at least ${k} example documents, have ${pool ? pool.length : docs.length - 1}`,
    );
  }
  const rnd = new PyRandom(opts.seed ?? 42);
  const order = docs.map((_, i) => i);
  rnd.shuffle(order);
  const chosen = opts.limit !== undefined ? order.slice(0, opts.limit) : order;
  return chosen.map((index) => {
    const doc = docs[index]!;
    let shots: QaDoc[] = [];
    if (k > 0) {
      shots = pool
        ? rnd.sample(pool, k)
        : rnd
            .sample(docs, k + 1)
            .filter((d) => d !== doc)
            .slice(0, k);
    }
    const ctx = fewshotContext(doc, shots, opts);
    return { doc, index, requests: docRequests(doc, ctx, opts) };
  });
}

/** Token-level request after `_encode_pair` and left truncation. */
export interface TokenRequest {
  /** Context ids (left-truncated; never empty). */
  context: Int32Array;
  continuation: Int32Array;
  /** Tokens dropped from the left by truncation. */
  truncated: number;
}

/** Encoding options. */
export interface EncodeOptions {
  /** Prepend BOS to the context (0.4 HFLM behaviour; pre-0.4 default false). */
  bos?: boolean;
  /** Harness max_length: a request keeps its last maxLength + 1 tokens. */
  maxLength: number;
}

/** `_encode_pair` (trailing context whitespace moves to the continuation), then truncation. */
export function encodeRequest(
  tok: TextTokenizer,
  req: TextRequest,
  opts: EncodeOptions,
): TokenRequest {
  let { context, continuation } = req;
  let ctxIds: number[];
  let contIds: number[];
  if (context === "") {
    ctxIds = [tok.eosId];
    contIds = Array.from(tok.encode(continuation));
  } else {
    const nSpaces = context.length - context.trimEnd().length;
    if (nSpaces > 0) {
      continuation = context.slice(context.length - nSpaces) + continuation;
      context = context.slice(0, context.length - nSpaces);
    }
    const whole = Array.from(tok.encode(context + continuation));
    ctxIds = Array.from(tok.encode(context));
    contIds = whole.slice(ctxIds.length);
    if (opts.bos) ctxIds.unshift(tok.bosId);
  }
  if (contIds.length === 0)
    throw new EvalConfigError(
      `continuation ${JSON.stringify(req.continuation)} encodes to no tokens`,
    );
  if (contIds.length > opts.maxLength) {
    throw new EvalConfigError(
      `continuation of ${contIds.length} tokens exceeds max_length ${opts.maxLength}`,
    );
  }
  const total = ctxIds.length + contIds.length;
  const drop = Math.max(0, total - (opts.maxLength + 1));
  return {
    context: Int32Array.from(ctxIds.slice(drop)),
    continuation: Int32Array.from(contIds),
    truncated: drop,
  };
}
