// Inference bookkeeping for anchor-based cache reduction (apps/docs/guide/method.md, the cache
// bookkeeping): one state per sequence; each appended chunk (one token or many) yields the
// per-key/per-query arrays that make the attention exact for any chunking, and the cache rows to
// keep afterwards (anchors + open segment).
import { AnchorCacheError, AnchorMaskInputError } from "./errors";
import { type AnchorStrategy, markAnchors } from "./strategy";
import type { AnchorFlags } from "./structure";

/** Options of `AnchorCacheState` (apps/docs/guide/method.md, decisions). */
export interface CacheStateOptions {
  /**
   * Rotary positions of new tokens: `"original"` (default; absolute index, exact equality with the
   * masked full forward) or `"compacted"` (the released code: `cacheLength + t` after a drop).
   * Masking always uses original positions (`qPos`/`kPos`).
   */
  readonly positions?: "original" | "compacted";
  /** Keep-range-full: half-open ranges of original positions kept in the cache and visible as anchors. */
  readonly keepFull?: ReadonlyArray<readonly [number, number]>;
  /** Keep position 0 (BOS) in the cache, visible to every query (documented deviation, default off). */
  readonly bosVisible?: boolean;
  /** `"anchor"` (default) drops finished segments' non-anchor rows; `"full"` keeps every row (baseline). */
  readonly policy?: "anchor" | "full";
}

/**
 * One step of the state machine: the attention inputs for a chunk and the rows to keep after it.
 * The key axis is `[cache rows (cacheLength), chunk rows (chunkLength)]`. Query q may attend key k iff
 * `kPos[k] <= qPos[q] && (qSeg[q] == kSeg[k] || (kAnchor[k] && !qAnchor[q]) || (bosVisible && kPos[k] == 0))`,
 * which equals the training mask row of token `qPos[q]` restricted to these keys, and no key the
 * training mask allows is missing.
 */
export interface CacheStep {
  /** rows in the cache before this step (= index of the first chunk row on the key axis) */
  readonly cacheLength: number;
  readonly chunkLength: number;
  /** `[cacheLength + chunkLength]` original absolute positions of the keys */
  readonly kPos: Int32Array<ArrayBuffer>;
  /** `[cacheLength + chunkLength]` segment ids (anchors strictly before the key) */
  readonly kSeg: Int32Array<ArrayBuffer>;
  /** `[cacheLength + chunkLength]` 1 = visible as an anchor (an anchor, or inside a keep-full range) */
  readonly kAnchor: Int32Array<ArrayBuffer>;
  /** `[cacheLength + chunkLength]` rotary position each key was (or is to be) rotated with */
  readonly kRopePos: Int32Array<ArrayBuffer>;
  /** `[chunkLength]` original absolute positions of the new tokens */
  readonly qPos: Int32Array<ArrayBuffer>;
  /** `[chunkLength]` segment ids of the new tokens */
  readonly qSeg: Int32Array<ArrayBuffer>;
  /** `[chunkLength]` 1 = the new token is an anchor (true anchor flag) */
  readonly qAnchor: Int32Array<ArrayBuffer>;
  /** `[chunkLength]` rotary positions for the new tokens (original or compacted) */
  readonly qRopePos: Int32Array<ArrayBuffer>;
  /** `[newCacheLength]` key-axis indices (increasing) of the rows that form the cache after the step */
  readonly keep: Int32Array<ArrayBuffer>;
  readonly bosVisible: boolean;
  /** causal policies (full-attention rule, no segments): sink, sepllm, h2o (cache-policy.ts) */
  readonly causal?: boolean;
  /**
   * `[cacheLength + chunkLength]` first query position that no longer sees each key (the
   * policy evicts it there; NO_EVICTION = never within this step); absent = no such bound
   */
  readonly kUntil?: Int32Array<ArrayBuffer>;
  /** `[cacheLength + chunkLength]` the policy's per-token flag of each key (separator for sepllm) */
  readonly kFlag?: Int32Array<ArrayBuffer>;
}

/** Rows held by the state, one entry per cached K/V row. */
interface Rows {
  pos: Int32Array<ArrayBuffer>;
  seg: Int32Array<ArrayBuffer>;
  anchor: Int32Array<ArrayBuffer>;
  rope: Int32Array<ArrayBuffer>;
}

/**
 * The anchor cache state machine for one sequence (batch = one state per sequence).
 * @example
 * const state = new AnchorCacheState();
 * const step = state.append(markAnchors(promptIds, epStrategy([29889]))); // prefill
 * // attention over [cache + chunk] with step.{q,k}{Pos,Seg,Anchor}; then cache = gather(step.keep)
 */
export class AnchorCacheState {
  private rows: Rows = emptyRows(0);
  private nextPos = 0;
  private segment = 0;
  private version = 0;
  private peak = 0;
  private readonly full: ReadonlyArray<readonly [number, number]>;
  private readonly compacted: boolean;
  private readonly bosVisible: boolean;
  private readonly keepAll: boolean;

  constructor(options: CacheStateOptions = {}) {
    this.full = checkRanges(options.keepFull ?? []);
    this.compacted = (options.positions ?? "original") === "compacted";
    this.bosVisible = options.bosVisible ?? false;
    this.keepAll = (options.policy ?? "anchor") === "full";
  }

  /** Rows currently in the cache. */
  get cacheLength(): number {
    return this.rows.pos.length;
  }

  /** Tokens appended so far (= the next token's original position). */
  get totalTokens(): number {
    return this.nextPos;
  }

  /** Largest key axis seen in a step (cache + chunk): the peak K/V rows held. */
  get peakRows(): number {
    return this.peak;
  }

  /** Row sets kept: one, shared by every head (CachePolicyState). */
  get heads(): number {
    return 1;
  }

  /** `[1][cacheLength]`: the cached rows' original positions, for every head (CachePolicyState). */
  headPositions(): Int32Array[] {
    return [this.rows.pos.slice()];
  }

  /** Anchors appended so far (= the segment id of the next token). */
  get currentSegment(): number {
    return this.segment;
  }

  /**
   * A copy of the cached rows' original positions, segment ids, visible-as-anchor flags (anchors and
   * keep-full rows, as `kAnchor`) and rotary positions, in cache order.
   */
  cachedRows(): { pos: Int32Array; seg: Int32Array; anchor: Int32Array; ropePos: Int32Array } {
    const r = this.rows;
    return {
      pos: r.pos.slice(),
      seg: r.seg.slice(),
      anchor: r.anchor.slice(),
      ropePos: r.rope.slice(),
    };
  }

  /** An independent copy of this state (same options), e.g. for beam search. */
  fork(): AnchorCacheState {
    const copy = new AnchorCacheState({
      positions: this.compacted ? "compacted" : "original",
      keepFull: this.full,
      bosVisible: this.bosVisible,
      policy: this.keepAll ? "full" : "anchor",
    });
    const r = this.rows;
    copy.rows = {
      pos: r.pos.slice(),
      seg: r.seg.slice(),
      anchor: r.anchor.slice(),
      rope: r.rope.slice(),
    };
    copy.nextPos = this.nextPos;
    copy.segment = this.segment;
    copy.peak = this.peak;
    return copy;
  }

  /** Appends a chunk (anchor flags of the new tokens) and commits it; returns the step. */
  append(isAnchor: AnchorFlags): CacheStep {
    const step = this.plan(isAnchor);
    this.commit(step);
    return step;
  }

  /** `append` for token ids: anchors come from `strategy`. */
  appendTokens(tokens: ArrayLike<number>, strategy: AnchorStrategy): CacheStep {
    return this.append(markAnchors(tokens, strategy));
  }

  /** Computes the step for a chunk without changing the state; apply it with `commit`. */
  plan(isAnchor: AnchorFlags): CacheStep {
    const c = this.cacheLength;
    const n = isAnchor.length;
    const r = this.rows;
    const keys = emptyRows(c + n);
    keys.pos.set(r.pos);
    keys.seg.set(r.seg);
    keys.anchor.set(r.anchor);
    keys.rope.set(r.rope);
    const qAnchor = new Int32Array(n);
    let seg = this.segment;
    for (let t = 0; t < n; t++) {
      const pos = this.nextPos + t;
      const a = isAnchor[t] ? 1 : 0;
      qAnchor[t] = a;
      keys.pos[c + t] = pos;
      keys.seg[c + t] = seg;
      keys.anchor[c + t] = a | (this.inFull(pos) ? 1 : 0);
      keys.rope[c + t] = this.compacted ? c + t : pos;
      seg += a;
    }
    const step: CacheStep = {
      cacheLength: c,
      chunkLength: n,
      kPos: keys.pos,
      kSeg: keys.seg,
      kAnchor: keys.anchor,
      kRopePos: keys.rope,
      qPos: keys.pos.slice(c),
      qSeg: keys.seg.slice(c),
      qAnchor,
      qRopePos: keys.rope.slice(c),
      keep: this.keepIndices(keys, seg),
      bosVisible: this.bosVisible,
    };
    stepVersions.set(step, { state: this, version: this.version });
    return step;
  }

  /** Applies a step from `plan` (of this state, with no other step committed since). */
  commit(step: CacheStep): void {
    const origin = stepVersions.get(step);
    if (origin?.state !== this || origin.version !== this.version) {
      throw new AnchorCacheError(
        "commit: this step was not planned from the current state (plan again after every commit)",
      );
    }
    const k = step.keep;
    const rows = emptyRows(k.length);
    for (let r = 0; r < k.length; r++) {
      rows.pos[r] = step.kPos[k[r]!]!;
      rows.seg[r] = step.kSeg[k[r]!]!;
      rows.anchor[r] = step.kAnchor[k[r]!]!;
      rows.rope[r] = step.kRopePos[k[r]!]!;
    }
    this.peak = Math.max(this.peak, step.cacheLength + step.chunkLength);
    this.rows = rows;
    this.nextPos += step.chunkLength;
    for (let t = 0; t < step.chunkLength; t++) this.segment += step.qAnchor[t]!;
    this.version++;
  }

  private inFull(pos: number): boolean {
    for (const [start, end] of this.full) if (pos >= start && pos < end) return true;
    return false;
  }

  /** Kept rows: anchors / keep-full (kAnchor), the open segment (seg == final), and BOS if visible. */
  private keepIndices(keys: Rows, openSeg: number): Int32Array<ArrayBuffer> {
    const out: number[] = [];
    for (let k = 0; k < keys.pos.length; k++) {
      const keep =
        this.keepAll ||
        keys.anchor[k] === 1 ||
        keys.seg[k] === openSeg ||
        (this.bosVisible && keys.pos[k] === 0);
      if (keep) out.push(k);
    }
    return Int32Array.from(out);
  }
}

/** Which state produced which step (guards `commit` against stale or foreign steps). */
const stepVersions = new WeakMap<CacheStep, { state: AnchorCacheState; version: number }>();

/**
 * May new token `q` of `step` attend key `k` (the tensor attention rule over kept rows)?
 * @param q index into the chunk `[0, chunkLength)`
 * @param k index on the key axis `[0, cacheLength + chunkLength)`
 */
export function stepAllowed(step: CacheStep, q: number, k: number): boolean {
  if (step.kPos[k]! > step.qPos[q]!) return false;
  if (step.kUntil && step.qPos[q]! >= step.kUntil[k]!) return false;
  if (step.causal) return true;
  if (step.qSeg[q] === step.kSeg[k]) return true;
  if (step.kAnchor[k] && !step.qAnchor[q]) return true;
  return step.bosVisible && step.kPos[k] === 0;
}

/**
 * Dense visibility of a step, for models that build their own attention mask.
 * @returns `[chunkLength, cacheLength + chunkLength]` row-major, 1 = may attend
 */
export function stepMask(step: CacheStep): Uint8Array<ArrayBuffer> {
  const nk = step.cacheLength + step.chunkLength;
  const out = new Uint8Array(step.chunkLength * nk);
  for (let q = 0; q < step.chunkLength; q++) {
    for (let k = 0; k < nk; k++) out[q * nk + k] = stepAllowed(step, q, k) ? 1 : 0;
  }
  return out;
}

/**
 * Cache rows that survive after a whole sequence is processed (apps/docs/guide/method.md, the
 * cache bookkeeping).
 * @param isAnchor `[seqLen]` anchor flags
 * @returns indices, increasing: every anchor plus the tokens after the last anchor (+ options)
 * @example anchorKeepIndices([0, 0, 1, 0, 1, 0, 0]) // Int32Array [2, 4, 5, 6]
 */
export function anchorKeepIndices(
  isAnchor: AnchorFlags,
  options: CacheStateOptions = {},
): Int32Array<ArrayBuffer> {
  return new AnchorCacheState(options).plan(isAnchor).keep;
}

function emptyRows(n: number): Rows {
  return {
    pos: new Int32Array(n),
    seg: new Int32Array(n),
    anchor: new Int32Array(n),
    rope: new Int32Array(n),
  };
}

function checkRanges(
  ranges: ReadonlyArray<readonly [number, number]>,
): ReadonlyArray<readonly [number, number]> {
  for (const [k, [start, end]] of ranges.entries()) {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new AnchorMaskInputError(
        `options.keepFull[${k}]`,
        `expected [start, end) with integers 0 <= start <= end, got [${start}, ${end}]`,
      );
    }
  }
  return ranges.map(([s, e]) => [s, e] as const);
}
