// The streaming loader: documents → seeded block shuffle → rank sharding → tokenisation with
// anchors (inline or worker threads) → paper/packed batches, each with a resumable JSON state.
import {
  type AnchorConfig,
  type EncodedDoc,
  encodeDocument,
  type ResolvedAnchors,
  resolveAnchors,
} from "./anchors";
import { type BadInputMark, BadInputReport } from "./bad-input";
import { DocumentReader } from "./documents";
import { LoaderOptionsError } from "./errors";
import { type DatasetSource, type ResolvedDataset, resolveDataset } from "./layouts";
import { checkState, fingerprintOf, type LoaderState } from "./loader-state";
import type { DocRecord } from "./records";
import { BatchBuilder, type SequenceBatch } from "./sequences";
import { mixSeed, permutation } from "./shuffle";
import type { Tokenizer } from "./tokenizer";
import { TokenizePool } from "./worker-pool";

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  /** Dataset folder, file, list of files, or explicit layout (see resolveDataset). */
  source: DatasetSource;
  tokenizer: Tokenizer;
  /** Anchor choice (default none). AC needs a tokenizer with the anchor token (withAnchorToken). */
  anchors?: AnchorConfig;
  /** "paper": one document per row, right-truncated, padded (default). "pack": rows filled end to end. */
  mode?: "paper" | "pack";
  /** Tokens per row (default 4096). */
  contextLength?: number;
  /** Rows per batch (default 1). */
  batchSize?: number;
  /** BOS at the start of each document (default true); EOS at its end (default false). */
  bos?: boolean;
  eos?: boolean;
  /** Padding id (default tokenizer.padId, else tokenizer.eosId); find padding from `lengths`. */
  padId?: number;
  /** Seeded shuffle: blocks of `blockSize` documents (default 256) and the file order. */
  shuffle?: { seed: number; blockSize?: number; files?: boolean } | false;
  /** Document-level sharding: this rank takes documents whose ordinal % worldSize === rank. */
  rank?: number;
  worldSize?: number;
  /** Passes over the data (default 1); each epoch reshuffles with (seed, epoch). */
  epochs?: number;
  /** Throw on the first bad line instead of counting it. */
  strict?: boolean;
  /**
   * Tokenising threads, this one included (default 0). N >= 2 uses N - 1 worker threads, and this
   * thread tokenises too while it waits for their results; 0 and 1 tokenise on this thread only.
   * Worker threads are kept for later loaders and stop after 60 s idle (or stopIdleWorkers()).
   */
  workers?: number;
  /** Drop a last, incomplete batch (default false). */
  dropLast?: boolean;
  /** A state from an earlier batch: continue right after it. */
  resume?: LoaderState;
  /** Skip lines longer than this many bytes (default 16 MiB). */
  maxLineBytes?: number;
  /** RedPajama-V2: attach quality signals as meta.quality_signals (documents only otherwise). */
  v2Signals?: boolean;
}

/** {@link LoaderOptions} with every default applied; the loader reads only this after construction. */
interface ResolvedLoaderOptions {
  readonly tokenizer: Tokenizer;
  readonly anchors: AnchorConfig;
  readonly mode: "paper" | "pack";
  readonly contextLength: number;
  readonly batchSize: number;
  readonly bos: boolean;
  readonly eos: boolean;
  readonly padId: number;
  /** null: no shuffle (blocks of one document, files in layout order). */
  readonly shuffle: {
    readonly seed: number;
    readonly blockSize: number;
    readonly files: boolean;
  } | null;
  readonly rank: number;
  readonly worldSize: number;
  readonly epochs: number;
  readonly strict: boolean;
  readonly workers: number;
  readonly dropLast: boolean;
  readonly resume: LoaderState | undefined;
  /** undefined: the line reader's default (16 MiB). */
  readonly maxLineBytes: number | undefined;
  readonly v2Signals: boolean;
}

/** Applies the defaults of {@link LoaderOptions}; throws {@link LoaderOptionsError}. */
function resolveLoaderOptions(opts: LoaderOptions): ResolvedLoaderOptions {
  const t = opts.tokenizer;
  const sh = opts.shuffle;
  const o: ResolvedLoaderOptions = {
    tokenizer: t,
    anchors: opts.anchors ?? { mode: "none" },
    mode: opts.mode ?? "paper",
    contextLength: opts.contextLength ?? 4096,
    batchSize: opts.batchSize ?? 1,
    bos: opts.bos ?? true,
    eos: opts.eos ?? false,
    padId: opts.padId ?? t.padId ?? t.eosId,
    shuffle: sh
      ? { seed: sh.seed, blockSize: sh.blockSize ?? 256, files: sh.files !== false }
      : null,
    rank: opts.rank ?? 0,
    worldSize: opts.worldSize ?? 1,
    epochs: opts.epochs ?? 1,
    strict: opts.strict ?? false,
    workers: opts.workers ?? 0,
    dropLast: opts.dropLast ?? false,
    resume: opts.resume,
    maxLineBytes: opts.maxLineBytes,
    v2Signals: opts.v2Signals ?? false,
  };
  validate(o);
  return o;
}

/** A batch plus the state to resume right after it. */
export interface Batch extends SequenceBatch {
  state: LoaderState;
}

interface Pos {
  epoch: number;
  blockIndex: number;
  fileIndex: number;
  line: number;
  mark: BadInputMark;
  index: number;
}

interface PDoc {
  doc: DocRecord;
  pos: Pos;
  ordinal: number;
}

type EDoc = PDoc & { enc: EncodedDoc };

/** Running totals of one loader. */
export interface LoaderStats {
  documents: number;
  tokens: number;
  batches: number;
  /** Paper mode: documents longer than contextLength that were cut. */
  truncatedDocuments: number;
}

/** The streaming loader; iterate `batches()` once. Create it with {@link createLoader}. */
export class RedPajamaLoader {
  readonly stats: LoaderStats = { documents: 0, tokens: 0, batches: 0, truncatedDocuments: 0 };
  readonly anchors: ResolvedAnchors;
  readonly fingerprint: string;
  /** Skipped input of this loader, per reason (strict mode throws instead). */
  readonly report: BadInputReport;
  private readonly o: ResolvedLoaderOptions;
  /** Documents per shuffle block (1 without shuffle). */
  private readonly blockSize: number;
  /** True once an epoch read from its start yielded no document (the stream then ends early). */
  emptyEpoch = false;

  constructor(
    readonly dataset: ResolvedDataset,
    opts: LoaderOptions,
  ) {
    const o = resolveLoaderOptions(opts);
    this.o = o;
    this.report = new BadInputReport(o.strict);
    this.blockSize = o.shuffle?.blockSize ?? 1;
    this.anchors = resolveAnchors(o.tokenizer, o.anchors);
    this.fingerprint = fingerprintOf({
      files: dataset.files.map((f) => f.relPath),
      tokenizer: [o.tokenizer.name, o.tokenizer.vocabSize],
      anchors: this.anchors,
      shape: [o.mode, o.contextLength, o.batchSize, o.bos, o.eos, o.padId, o.epochs, o.dropLast],
      shard: [o.rank, o.worldSize],
      // The shuffle option as given (not resolved), so states saved before keep their fingerprint.
      shuffle: opts.shuffle || null,
    });
    if (o.resume) checkState(o.resume, this.fingerprint);
  }

  /** Reading order of the files in an epoch. */
  fileOrder(epoch: number): number[] {
    const n = this.dataset.files.length;
    const sh = this.o.shuffle;
    if (!sh?.files) return Array.from({ length: n }, (_, i) => i);
    return Array.from(permutation(n, mixSeed(sh.seed, epoch, 0x51e5)));
  }

  private async *positioned(start: LoaderState | undefined): AsyncGenerator<PDoc> {
    const B = this.blockSize;
    const { rank, worldSize, epochs } = this.o;
    let epoch = start?.epoch ?? 0;
    let blockIndex = start?.block.index ?? 0;
    let next = start?.next ?? 0;
    if (start) this.report.restore(start.block.report);
    for (; epoch < epochs; epoch++) {
      const files = this.fileOrder(epoch).map((i) => this.dataset.files[i]!);
      const reader = new DocumentReader(files, this.report, this.o.maxLineBytes, this.o.v2Signals);
      // An epoch read from its first line that yields no document means every later epoch yields
      // none either: stop instead of spinning through the remaining epochs.
      const fromStart = start === undefined;
      let read = 0;
      try {
        if (start) await reader.seek({ fileIndex: start.block.fileIndex, line: start.block.line });
        start = undefined;
        for (;;) {
          const at = reader.position();
          const mark = this.report.mark();
          const docs: DocRecord[] = [];
          while (docs.length < B) {
            const d = await reader.next();
            if (!d) break;
            docs.push(d);
          }
          if (docs.length === 0) break;
          read += docs.length;
          const perm =
            B > 1
              ? permutation(docs.length, mixSeed(this.o.shuffle?.seed ?? 0, epoch, blockIndex))
              : null;
          for (let k = next; k < docs.length; k++) {
            const ordinal = blockIndex * B + k;
            if (ordinal % worldSize !== rank) continue;
            const doc = docs[perm ? perm[k]! : k]!;
            yield {
              doc,
              ordinal,
              pos: { epoch, blockIndex, fileIndex: at.fileIndex, line: at.line, mark, index: k },
            };
          }
          next = 0;
          blockIndex++;
        }
      } finally {
        await reader.close();
      }
      blockIndex = 0;
      if (fromStart && read === 0) {
        this.emptyEpoch = true;
        return;
      }
    }
  }

  private async *encoded(
    src: AsyncGenerator<PDoc>,
    pool: TokenizePool | null,
  ): AsyncGenerator<EDoc> {
    if (!pool) {
      for await (const d of src) yield { ...d, enc: this.encodeOne(d.doc.text) };
      return;
    }
    for await (const [d, enc] of pool.encodeInOrder(src, (x) => x.doc.text)) yield { ...d, enc };
  }

  private encodeOne(text: string): EncodedDoc {
    return encodeDocument(text, this.o.tokenizer, this.anchors, {
      bos: this.o.bos,
      eos: this.o.eos,
    });
  }

  private stateAt(pos: Pos, next: number, tokenOffset: number): LoaderState {
    return {
      version: 1,
      fingerprint: this.fingerprint,
      epoch: pos.epoch,
      block: {
        index: pos.blockIndex,
        fileIndex: pos.fileIndex,
        line: pos.line,
        report: this.report.snapshotAt(pos.mark),
      },
      next,
      tokenOffset,
      batches: this.stats.batches,
      done: false,
    };
  }

  private doneState(): LoaderState {
    const report = this.report.snapshot();
    return {
      version: 1,
      fingerprint: this.fingerprint,
      epoch: this.o.epochs,
      block: { index: 0, fileIndex: 0, line: 1, report },
      next: 0,
      tokenOffset: 0,
      batches: this.stats.batches,
      done: true,
    };
  }

  /** Streams batches; each carries the state to resume after it. Call once per loader. */
  async *batches(): AsyncGenerator<Batch> {
    const start = this.o.resume;
    if (start?.done) {
      this.report.restore(start.block.report);
      return;
    }
    this.stats.batches = start?.batches ?? 0;
    const pool =
      this.o.workers > 1
        ? new TokenizePool(
            this.o.workers - 1,
            {
              tokenizer: this.o.tokenizer.spec(),
              anchors: this.anchors,
              encode: { bos: this.o.bos, eos: this.o.eos },
            },
            (text) => this.encodeOne(text),
          )
        : null;
    const src = this.positioned(start);
    try {
      const docs = this.encoded(src, pool);
      const rows =
        this.o.mode === "pack" ? this.packed(docs, start?.tokenOffset ?? 0) : this.paper(docs);
      yield* rows;
    } finally {
      await src.return(undefined);
      await pool?.close();
    }
  }

  private emit(b: BatchBuilder, state: LoaderState | null): Batch {
    const out = b.take();
    this.stats.batches++;
    const st = state ?? this.doneState();
    st.batches = this.stats.batches;
    return { ...out, state: st };
  }

  private async *paper(docs: AsyncGenerator<EDoc>): AsyncGenerator<Batch> {
    const L = this.o.contextLength;
    const b = new BatchBuilder(this.o.batchSize, L, this.o.padId);
    for await (const e of docs) {
      const n = e.enc.ids.length;
      if (n > L) this.stats.truncatedDocuments++;
      this.count(Math.min(n, L));
      b.append(e.enc.ids, e.enc.anchors, 0, Math.min(n, L), e.ordinal);
      b.endRow();
      if (b.full) yield this.emit(b, this.stateAt(e.pos, e.pos.index + 1, 0));
    }
    if (b.rows > 0 && !this.o.dropLast) yield this.emit(b, null);
  }

  private async *packed(docs: AsyncGenerator<EDoc>, firstOffset: number): AsyncGenerator<Batch> {
    const b = new BatchBuilder(this.o.batchSize, this.o.contextLength, this.o.padId);
    let skip = firstOffset;
    for await (const e of docs) {
      const n = e.enc.ids.length;
      let off = skip;
      skip = 0;
      this.count(n - off);
      while (off < n) {
        const take = Math.min(b.space, n - off);
        b.append(e.enc.ids, e.enc.anchors, off, off + take, e.ordinal);
        off += take;
        if (b.space > 0) continue;
        b.endRow();
        if (!b.full) continue;
        const st =
          off < n ? this.stateAt(e.pos, e.pos.index, off) : this.stateAt(e.pos, e.pos.index + 1, 0);
        yield this.emit(b, st);
      }
    }
    if (b.fill > 0) b.endRow();
    if (b.rows > 0 && !this.o.dropLast) yield this.emit(b, null);
  }

  private count(tokens: number): void {
    this.stats.documents++;
    this.stats.tokens += tokens;
  }
}

function validate(o: ResolvedLoaderOptions): void {
  const posInt = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new LoaderOptionsError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  posInt("contextLength", o.contextLength, 1);
  posInt("batchSize", o.batchSize, 1);
  posInt("worldSize", o.worldSize, 1);
  posInt("epochs", o.epochs, 1);
  posInt("workers", o.workers, 0);
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) {
    throw new LoaderOptionsError(`rank must be in [0, worldSize), got ${o.rank} of ${o.worldSize}`);
  }
  const blockSize = o.shuffle?.blockSize;
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize < 1))
    throw new LoaderOptionsError(`shuffle.blockSize must be a positive integer, got ${blockSize}`);
}

/**
 * Resolves the dataset and builds a loader.
 * @example
 * const loader = await createLoader({ source: defaultDatasetPath(), tokenizer: llama2Tokenizer(),
 *   anchors: { mode: "ep" }, contextLength: 512, batchSize: 4, shuffle: { seed: 34 } });
 * for await (const batch of loader.batches()) save(JSON.stringify(batch.state));
 */
export async function createLoader(opts: LoaderOptions): Promise<RedPajamaLoader> {
  const dataset = await resolveDataset(opts.source);
  return new RedPajamaLoader(dataset, opts);
}
