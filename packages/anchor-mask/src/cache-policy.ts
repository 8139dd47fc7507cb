// KV-cache policies as one concept: which cached rows a sequence keeps and which keys each query
// sees. `full` and `anchor` (AnLLM) are AnchorCacheState's; `sink` (StreamingLLM), `sepllm`
// (SepLLM) and `h2o` (heavy hitters) are here. Each deterministic policy states its rule in one
// function (`policyKeeps`: does the cache hold key j after token p?); a query at position p sees
// exactly the keys the cache holds after p, so any chunking gives the token-by-token result. The
// states turn the rule into `kUntil` (the first query position that no longer sees a key), which
// the attention kernels test per pair; K/V storage is the caller's (llama2-model's KVCache).
import { NO_EVICTION } from "./cache-batch";
import { AnchorCacheState, type CacheStateOptions, type CacheStep } from "./cache-state";
import { AnchorCacheError, AnchorMaskInputError } from "./errors";
import type { AnchorFlags } from "./structure";

/** SepLLM's default separators: `. , ? ! ; :` and newline. */
export const DEFAULT_SEPARATORS = ".,?!;:\n";

/** A cache policy and its options (parse one from `NAME[:k=v,...]` with `parsePolicy`). */
export type CachePolicy =
  | { readonly kind: "full" }
  | { readonly kind: "anchor" }
  | {
      readonly kind: "sink";
      /** initial tokens always kept (attention sinks) */
      readonly sink: number;
      /** most recent tokens kept */
      readonly window: number;
      /** rotary positions: "original" (absolute, exact) or "cache" (index in the cache, StreamingLLM) */
      readonly positions: "original" | "cache";
    }
  | {
      readonly kind: "sepllm";
      readonly initial: number;
      readonly window: number;
      /** total kept rows (initial + separators + window); past it the oldest separators go */
      readonly budget: number;
      /** separator characters; the caller maps them to token ids (flags) */
      readonly separators: string;
    }
  | {
      readonly kind: "h2o";
      /** total kept rows (heavy hitters + recent window) */
      readonly budget: number;
      /** most recent tokens always kept */
      readonly recent: number;
    };

/** Name of a cache policy. */
export type CachePolicyName = CachePolicy["kind"];

/** Every policy name, in the order tables list them. */
export const POLICY_NAMES: readonly CachePolicyName[] = ["full", "anchor", "sink", "sepllm", "h2o"];

const DEFAULTS = {
  sink: { sink: 4, window: 256 },
  sepllm: { initial: 4, window: 256 },
  h2o: { budget: 512, recent: 256 },
} as const;

function intOption(
  spec: string,
  key: string,
  value: string | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (value === "inf" || value === "none") return Number.POSITIVE_INFINITY;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new AnchorMaskInputError(
      `policy "${spec}"`,
      `option ${key} must be an integer >= ${min} (or inf), got "${value}"`,
    );
  }
  return n;
}

/** Splits `a=1,b=2` on unescaped commas; `\,` is a comma and `\n` a newline inside values. */
function splitOptions(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "\\" && i + 1 < text.length) {
      const n = text[++i] as string;
      cur += n === "n" ? "\n" : n === "s" ? " " : n;
    } else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out.filter((s) => s.length > 0);
}

/**
 * Parses `NAME[:key=value,...]`: `full`, `anchor`, `sink:sink=4,window=256,positions=cache`,
 * `sepllm:initial=4,window=256,budget=inf,separators=.\,?!;:\n`, `h2o:budget=512,recent=256`.
 * Numbers accept `inf`. Unknown names or options are errors naming the option.
 */
export function parsePolicy(spec: string): CachePolicy {
  const colon = spec.indexOf(":");
  const name = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  const opts = new Map<string, string>();
  for (const part of splitOptions(colon < 0 ? "" : spec.slice(colon + 1))) {
    const eq = part.indexOf("=");
    if (eq <= 0)
      throw new AnchorMaskInputError(`policy "${spec}"`, `expected key=value, got "${part}"`);
    opts.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  const allow = (keys: string[]) => {
    for (const k of opts.keys())
      if (!keys.includes(k))
        throw new AnchorMaskInputError(
          `policy "${spec}"`,
          `unknown option "${k}" for ${name} (expected ${keys.join(", ") || "none"})`,
        );
  };
  const int = (k: string, fallback: number, min = 0) =>
    intOption(spec, k, opts.get(k), fallback, min);
  switch (name) {
    case "full":
    case "anchor":
      allow([]);
      return { kind: name };
    case "sink": {
      allow(["sink", "window", "positions"]);
      const positions = opts.get("positions") ?? "original";
      if (positions !== "original" && positions !== "cache")
        throw new AnchorMaskInputError(
          `policy "${spec}"`,
          `positions must be "original" or "cache", got "${positions}"`,
        );
      return {
        kind: "sink",
        sink: int("sink", DEFAULTS.sink.sink),
        window: int("window", DEFAULTS.sink.window, 1),
        positions,
      };
    }
    case "sepllm": {
      allow(["initial", "window", "budget", "separators"]);
      const initial = int("initial", DEFAULTS.sepllm.initial);
      const window = int("window", DEFAULTS.sepllm.window, 1);
      const budget = int("budget", Number.POSITIVE_INFINITY, 1);
      if (budget < initial + window)
        throw new AnchorMaskInputError(
          `policy "${spec}"`,
          `budget ${budget} is below initial + window = ${initial + window}`,
        );
      const separators = opts.get("separators") ?? DEFAULT_SEPARATORS;
      if (separators.length === 0)
        throw new AnchorMaskInputError(`policy "${spec}"`, "separators must not be empty");
      return { kind: "sepllm", initial, window, budget, separators };
    }
    case "h2o": {
      allow(["budget", "recent"]);
      const recent = int("recent", DEFAULTS.h2o.recent, 1);
      const budget = int("budget", DEFAULTS.h2o.budget, 1);
      if (budget < recent)
        throw new AnchorMaskInputError(
          `policy "${spec}"`,
          `budget ${budget} is below recent ${recent}`,
        );
      return { kind: "h2o", budget, recent };
    }
    default:
      throw new AnchorMaskInputError(
        "policy",
        `unknown cache policy "${name}" (expected one of ${POLICY_NAMES.join(", ")})`,
      );
  }
}

/** The canonical `NAME:key=value,...` text of a policy (parsePolicy's inverse). */
export function formatPolicy(p: CachePolicy): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/\n/g, "\\n");
  switch (p.kind) {
    case "full":
    case "anchor":
      return p.kind;
    case "sink":
      return `sink:sink=${p.sink},window=${p.window},positions=${p.positions}`;
    case "sepllm":
      return `sepllm:initial=${p.initial},window=${p.window},budget=${fmtInt(p.budget)},separators=${esc(p.separators)}`;
    case "h2o":
      return `h2o:budget=${p.budget},recent=${p.recent}`;
  }
}

const fmtInt = (n: number) => (Number.isFinite(n) ? String(n) : "inf");

/**
 * The rule of every deterministic policy, by brute force: does the cache hold key `j` after
 * token `p` was appended (`j <= p`)? A query at `p` sees exactly these keys (anchor: see
 * `isAllowed` for what an anchor query sees). `flags` are the tokens' anchor flags (anchor) or
 * separator flags (sepllm) for positions `0..p`.
 * - full: always; anchor: `j` is an anchor or no anchor lies in `(j, p]` (the open segment);
 * - sink: `j < sink || j > p - window`;
 * - sepllm: `j < initial || j > p - window ||` (`j` is a separator and fewer than
 *   `budget - initial - window` separators lie in `(j, p - window]`).
 */
export function policyKeeps(
  policy: Exclude<CachePolicy, { kind: "h2o" }>,
  flags: AnchorFlags,
  j: number,
  p: number,
): boolean {
  if (j > p) return false;
  switch (policy.kind) {
    case "full":
      return true;
    case "anchor":
      if (flags[j]) return true;
      for (let x = j + 1; x <= p; x++) if (flags[x]) return false;
      return true;
    case "sink":
      return j < policy.sink || j > p - policy.window;
    case "sepllm": {
      if (j < policy.initial || j > p - policy.window) return true;
      if (!flags[j]) return false;
      let newer = 0;
      for (let x = j + 1; x <= p - policy.window; x++) if (flags[x]) newer++;
      return newer < separatorBudget(policy);
    }
  }
}

/** Separators SepLLM keeps outside its initial tokens and window (Infinity without a budget). */
function separatorBudget(p: { initial: number; window: number; budget: number }): number {
  return p.budget - p.initial - p.window;
}

/**
 * `kUntil` of every token of a sequence under a sink or sepllm policy (the first query position
 * that no longer sees it, or NO_EVICTION), from the closed form of `policyKeeps`: a sink token
 * never goes; a window token goes at `j + window`; a separator goes when the separator-budget-th
 * newer separator leaves the window. The training mask of `--mask sepllm` and the cache state use
 * this one function, so the two cannot drift.
 * @param flags `[seqLen]` separator flags (ignored by sink)
 * @param positions `[seqLen]` positions (default 0..seqLen-1; restart per packed document)
 */
export function windowUntil(
  policy: Extract<CachePolicy, { kind: "sink" | "sepllm" }>,
  flags: AnchorFlags,
  positions?: ArrayLike<number>,
): Int32Array<ArrayBuffer> {
  const n = flags.length;
  const pos = (t: number) => (positions ? (positions[t] as number) : t);
  const out = new Int32Array(n);
  const initial = policy.kind === "sink" ? policy.sink : policy.initial;
  const budget = policy.kind === "sepllm" ? separatorBudget(policy) : 0;
  // newer separators of the same document, nearest first: sepsAfter[t] lists them lazily
  for (let t = 0; t < n; t++) {
    const p = pos(t);
    if (p < initial) {
      out[t] = NO_EVICTION;
      continue;
    }
    if (policy.kind === "sink" || !flags[t]) {
      out[t] = p + policy.window;
      continue;
    }
    if (!Number.isFinite(budget)) {
      out[t] = NO_EVICTION;
      continue;
    }
    // the budget-th separator after t (same document: positions keep increasing)
    let seen = 0;
    let until = NO_EVICTION;
    for (let x = t + 1; x < n && pos(x) > pos(x - 1); x++) {
      if (flags[x] && ++seen >= budget) {
        until = pos(x) + policy.window;
        break;
      }
    }
    out[t] = budget === 0 ? p + policy.window : until;
  }
  return out;
}

/**
 * What llama2-model's KVCache needs from a policy's state; one state per sequence. A state keeps
 * `heads` row sets of `cacheLength` rows each: one shared by every head (every policy but h2o), or
 * one per head (h2o: the heavy hitters differ per head, the recent window does not).
 */
export interface CachePolicyState {
  /** rows in the cache (per head) */
  readonly cacheLength: number;
  readonly totalTokens: number;
  readonly peakRows: number;
  /** row sets kept (1 = one set for every head; h2o: its `heads`) */
  readonly heads: number;
  /** Plans a chunk (`flags`: anchor flags for anchor, separator flags for sepllm, else ignored). */
  plan(flags: AnchorFlags): CacheStep;
  /**
   * Applies a planned step. `scores` (`[heads, cacheLength + chunkLength]` row-major, h2o only,
   * required there): the attention probability each key received in this step on each head,
   * summed over the step's queries (and over the query heads sharing that head's keys).
   */
  commit(step: CacheStep, scores?: Float32Array): void;
  fork(): CachePolicyState;
  /**
   * The cached rows, in cache order. With one row set per head (h2o) `pos` (and `ropePos`) is the
   * newest position any head holds in that row: the causal rule's bound, not one token.
   */
  cachedRows(): { pos: Int32Array; seg: Int32Array; anchor: Int32Array; ropePos: Int32Array };
  /** `[heads][cacheLength]` original position of the token each head holds in each row. */
  headPositions(): Int32Array[];
}

/** Whether a policy needs attention column sums at commit (h2o). */
export function policyNeedsScores(p: CachePolicy): boolean {
  return p.kind === "h2o";
}

/** Options of `createCacheState`: AnchorCacheState's (anchor) and the head count (h2o). */
export interface CachePolicyStateOptions extends Omit<CacheStateOptions, "policy"> {
  /**
   * h2o: independent row sets per sequence, one per head (default 1); a model passes its KV heads,
   * or layers x KV heads for one set per layer and head (H2O's own rule)
   */
  readonly heads?: number;
}

/**
 * The per-sequence state of a policy: anchor is AnchorCacheState (with its options); full keeps
 * every row under the causal rule (AnchorCacheState's `policy: "full"` keeps every row under the
 * anchor rule instead); h2o keeps `options.heads` row sets.
 */
export function createCacheState(
  policy: CachePolicy,
  options: CachePolicyStateOptions = {},
): CachePolicyState {
  const { heads, ...anchorOptions } = options;
  switch (policy.kind) {
    case "full":
      return new FullCacheState();
    case "anchor":
      return new AnchorCacheState({ ...anchorOptions, policy: "anchor" });
    case "sink":
    case "sepllm":
      return new WindowCacheState(policy);
    case "h2o":
      return new HeavyHitterCacheState(policy, heads);
  }
}

interface PolicyRows {
  pos: Int32Array<ArrayBuffer>;
  flag: Int32Array<ArrayBuffer>;
  rope: Int32Array<ArrayBuffer>;
}

function rowsOf(n: number): PolicyRows {
  return { pos: new Int32Array(n), flag: new Int32Array(n), rope: new Int32Array(n) };
}

/** Shared plumbing of the causal policies: row storage, step building, stale-step guard. */
abstract class CausalPolicyState implements CachePolicyState {
  protected rows: PolicyRows = rowsOf(0);
  protected nextPos = 0;
  protected peak = 0;
  private version = 0;
  private readonly planned = new WeakMap<CacheStep, number>();

  get cacheLength(): number {
    return this.rows.pos.length;
  }
  get totalTokens(): number {
    return this.nextPos;
  }
  get peakRows(): number {
    return this.peak;
  }
  get heads(): number {
    return 1;
  }

  headPositions(): Int32Array[] {
    return [this.rows.pos.slice()];
  }

  cachedRows() {
    const r = this.rows;
    const n = r.pos.length;
    return {
      pos: r.pos.slice(),
      seg: new Int32Array(n),
      anchor: r.flag.slice(),
      ropePos: r.rope.slice(),
    };
  }

  /** The keys' `kUntil` over [cache rows, chunk rows] and the rows kept after the chunk. */
  protected abstract until(keys: PolicyRows, chunkStart: number): Int32Array<ArrayBuffer>;
  /** Rotary position of chunk token t (cache rows keep theirs). */
  protected abstract rope(cacheLength: number, t: number, pos: number): number;
  /**
   * 1 = drop after a step the rows the next token will no longer see (evict before insert, so a
   * new token's cache index is its StreamingLLM position); 0 = keep what the last token saw.
   */
  protected evictAhead(): number {
    return 0;
  }
  /** Rotary positions of the kept rows after a commit (default: unchanged). */
  protected reRope(kept: PolicyRows): void {
    void kept;
  }
  abstract fork(): CachePolicyState;

  protected copyInto(copy: CausalPolicyState): CausalPolicyState {
    const r = this.rows;
    copy.rows = { pos: r.pos.slice(), flag: r.flag.slice(), rope: r.rope.slice() };
    copy.nextPos = this.nextPos;
    copy.peak = this.peak;
    return copy;
  }

  plan(flags: AnchorFlags): CacheStep {
    const c = this.cacheLength;
    const n = flags.length;
    const keys = rowsOf(c + n);
    keys.pos.set(this.rows.pos);
    keys.flag.set(this.rows.flag);
    keys.rope.set(this.rows.rope);
    for (let t = 0; t < n; t++) {
      const pos = this.nextPos + t;
      keys.pos[c + t] = pos;
      keys.flag[c + t] = flags[t] ? 1 : 0;
      keys.rope[c + t] = this.rope(c, t, pos);
    }
    const kUntil = this.until(keys, c);
    // rows kept: those the next query may still see
    const next = this.nextPos + n + this.evictAhead();
    const keep: number[] = [];
    for (let k = 0; k < c + n; k++) if ((kUntil[k] as number) > next - 1) keep.push(k);
    const step: CacheStep = {
      cacheLength: c,
      chunkLength: n,
      kPos: keys.pos,
      kSeg: new Int32Array(c + n),
      kAnchor: new Int32Array(c + n),
      kRopePos: keys.rope,
      qPos: keys.pos.slice(c),
      qSeg: new Int32Array(n),
      qAnchor: new Int32Array(n),
      qRopePos: keys.rope.slice(c),
      keep: Int32Array.from(keep),
      bosVisible: false,
      causal: true,
      kUntil,
      kFlag: keys.flag,
    };
    this.planned.set(step, this.version);
    return step;
  }

  commit(step: CacheStep, scores?: Float32Array): void {
    if (this.planned.get(step) !== this.version)
      throw new AnchorCacheError(
        "commit: this step was not planned from the current state (plan again after every commit)",
      );
    const kept = this.choose(step, scores);
    this.reRope(kept);
    this.peak = Math.max(this.peak, step.cacheLength + step.chunkLength);
    this.rows = kept;
    this.nextPos += step.chunkLength;
    this.version++;
  }

  /** The rows kept at commit (default: the planned keep). */
  protected choose(step: CacheStep, _scores?: Float32Array): PolicyRows {
    return keptRows(step, step.keep);
  }
}

/** The rows of `step`'s key axis at indices `keep`. */
function keptRows(step: CacheStep, keep: ArrayLike<number>): PolicyRows {
  const kept = rowsOf(keep.length);
  const flag = step.kFlag as Int32Array;
  Array.from(keep).forEach((k, r) => {
    kept.pos[r] = step.kPos[k] as number;
    kept.flag[r] = flag[k] as number;
    kept.rope[r] = step.kRopePos[k] as number;
  });
  return kept;
}

/** full: every row stays, every earlier key is visible (the causal baseline). */
export class FullCacheState extends CausalPolicyState {
  fork(): CachePolicyState {
    return this.copyInto(new FullCacheState());
  }
  protected rope(_c: number, _t: number, pos: number): number {
    return pos;
  }
  protected until(keys: PolicyRows): Int32Array<ArrayBuffer> {
    return new Int32Array(keys.pos.length).fill(NO_EVICTION);
  }
}

/** sink (StreamingLLM) and sepllm (SepLLM): deterministic windows over positions and separators. */
export class WindowCacheState extends CausalPolicyState {
  constructor(private readonly policy: Extract<CachePolicy, { kind: "sink" | "sepllm" }>) {
    super();
  }

  fork(): CachePolicyState {
    return this.copyInto(new WindowCacheState(this.policy));
  }

  protected rope(cacheLength: number, t: number, pos: number): number {
    const cachePositions = this.policy.kind === "sink" && this.policy.positions === "cache";
    return cachePositions ? cacheLength + t : pos;
  }

  protected override evictAhead(): number {
    return this.policy.kind === "sink" && this.policy.positions === "cache" ? 1 : 0;
  }

  protected override reRope(kept: PolicyRows): void {
    // StreamingLLM: a key's rotary position is its index in the cache
    if (this.policy.kind === "sink" && this.policy.positions === "cache")
      for (let r = 0; r < kept.rope.length; r++) kept.rope[r] = r;
  }

  protected until(keys: PolicyRows, chunkStart: number): Int32Array<ArrayBuffer> {
    void chunkStart;
    // every cached key is still visible, and the keys arrive in position order, so the closed form
    // over the key axis equals the closed form over the whole sequence
    return windowUntil(this.policy, keys.flag, keys.pos);
  }
}

/**
 * h2o (heavy hitters, Zhang et al. 2023), per head: every key stays visible within a chunk; after
 * it each head keeps the `recent` newest rows (the same on every head) plus the `budget - recent`
 * rows with the largest attention probability that head gave them since they entered (`commit`
 * gets the step's column sums per head). Every head keeps the same number of rows, all older than
 * the next chunk, so one causal mask serves every head; row r holds a different token per head
 * (`headPositions`). Rotary positions are the original ones and never change.
 */
export class HeavyHitterCacheState extends CausalPolicyState {
  /** `[heads][cacheLength]` each head's accumulated attention per row, and its rows' positions */
  private score: Float64Array[];
  private headPos: Int32Array<ArrayBuffer>[];

  constructor(
    private readonly policy: Extract<CachePolicy, { kind: "h2o" }>,
    private readonly headCount = 1,
  ) {
    super();
    if (!Number.isInteger(headCount) || headCount < 1)
      throw new AnchorMaskInputError("h2o heads", `expected an integer >= 1, got ${headCount}`);
    this.score = Array.from({ length: headCount }, () => new Float64Array(0));
    this.headPos = Array.from({ length: headCount }, () => new Int32Array(0));
  }

  override get heads(): number {
    return this.headCount;
  }

  override headPositions(): Int32Array[] {
    return this.headPos.map((p) => p.slice());
  }

  /** Accumulated attention of each cached row (cache order) on each head: `[heads][cacheLength]`. */
  scores(): Float64Array[] {
    return this.score.map((s) => s.slice());
  }

  fork(): CachePolicyState {
    const copy = new HeavyHitterCacheState(this.policy, this.headCount);
    copy.score = this.scores();
    copy.headPos = this.headPos.map((p) => p.slice());
    return this.copyInto(copy);
  }

  protected rope(_c: number, _t: number, pos: number): number {
    return pos;
  }

  protected until(keys: PolicyRows): Int32Array<ArrayBuffer> {
    return new Int32Array(keys.pos.length).fill(NO_EVICTION);
  }

  protected override choose(step: CacheStep, scores?: Float32Array): PolicyRows {
    const c = step.cacheLength;
    const n = c + step.chunkLength;
    const heads = this.headCount;
    if (!scores || scores.length !== heads * n)
      throw new AnchorCacheError(
        `h2o commit: expected ${heads} x ${n} attention column sums (one per head and key of the step), got ${scores?.length ?? "none"}`,
      );
    const chunkPos = step.kPos.subarray(c);
    let kept = rowsOf(0);
    for (let h = 0; h < heads; h++) {
      const pos = new Int32Array(n);
      pos.set(this.headPos[h] as Int32Array);
      pos.set(chunkPos, c);
      const acc = new Float64Array(n);
      acc.set(this.score[h] as Float64Array);
      for (let k = 0; k < n; k++) acc[k] = (acc[k] as number) + (scores[h * n + k] as number);
      const keep = h2oKeep(pos, acc, this.policy);
      this.score[h] = Float64Array.from(keep, (k) => acc[k] as number);
      this.headPos[h] = Int32Array.from(keep, (k) => pos[k] as number);
      if (h === 0) kept = rowsOf(keep.length);
      // a row's shared position: the newest token any head holds there (the causal bound)
      keep.forEach((k, r) => {
        kept.pos[r] = Math.max(kept.pos[r] as number, pos[k] as number);
      });
    }
    kept.rope.set(kept.pos);
    return kept;
  }
}

/**
 * H2O's rule in one function: of rows with positions `pos` and accumulated scores `score`, keep
 * the `recent` newest and the `budget - recent` highest-scoring others (ties: the newer row).
 * @returns kept indices, increasing
 */
export function h2oKeep(
  pos: ArrayLike<number>,
  score: ArrayLike<number>,
  policy: { budget: number; recent: number },
): Int32Array<ArrayBuffer> {
  const n = pos.length;
  if (n <= policy.budget) return Int32Array.from({ length: n }, (_, k) => k);
  // a model runs this for every layer and KV head after every chunk: typed arrays and native
  // sorts only. Rows newest first (a head's key axis is already in position order: no sort then).
  const byPos = new Int32Array(n);
  for (let k = 0; k < n; k++) byPos[k] = n - 1 - k;
  let ordered = true;
  for (let k = 1; k < n && ordered; k++) ordered = (pos[k] as number) > (pos[k - 1] as number);
  if (!ordered) byPos.sort((a, b) => (pos[b] as number) - (pos[a] as number));
  const kept = new Uint8Array(n);
  for (let i = 0; i < policy.recent; i++) kept[byPos[i] as number] = 1;
  const heavy = policy.budget - policy.recent;
  if (heavy > 0) {
    // the heavy-th largest score of the other rows; rows above it are kept, ties go newest first
    const others = new Float64Array(n - policy.recent);
    for (let i = policy.recent; i < n; i++)
      others[i - policy.recent] = score[byPos[i] as number] as number;
    others.sort();
    const threshold = others[others.length - heavy] as number;
    let ties = heavy;
    for (let i = policy.recent; i < n; i++) {
      const k = byPos[i] as number;
      if ((score[k] as number) > threshold) {
        kept[k] = 1;
        ties--;
      }
    }
    for (let i = policy.recent; i < n && ties > 0; i++) {
      const k = byPos[i] as number;
      if (score[k] === threshold) {
        kept[k] = 1;
        ties--;
      }
    }
    // NaN scores (a diverged model) match nothing above: fill the budget newest first
    for (let i = policy.recent; i < n && ties > 0; i++) {
      const k = byPos[i] as number;
      if (!kept[k]) {
        kept[k] = 1;
        ties--;
      }
    }
  }
  const out = new Int32Array(policy.budget);
  for (let k = 0, r = 0; k < n; k++) if (kept[k]) out[r++] = k;
  return out;
}
