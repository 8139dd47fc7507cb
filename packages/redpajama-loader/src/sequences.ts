// Batch assembly: [batch, seqLen] typed arrays for ids, anchor flags, document ids and lengths;
// paper mode writes one right-truncated document per row, packing mode fills rows end to end.

/** One batch of sequences, row-major. */
export interface SequenceBatch {
  /** Rows in this batch (the last batch may be short). */
  batch: number;
  seqLen: number;
  /** [batch, seqLen] token ids; padding holds `padId`. */
  inputIds: Int32Array;
  /** [batch, seqLen] 1 at anchor tokens. */
  anchorMask: Uint8Array;
  /** [batch, seqLen] document id of each token (the document's ordinal in its epoch), -1 at padding. */
  docIds: Int32Array;
  /** [batch] real (non-padding) tokens per row. */
  lengths: Int32Array;
}

/** Accumulates rows into a batch of fixed capacity. */
export class BatchBuilder {
  private ids: Int32Array;
  private anchors: Uint8Array;
  private docs: Int32Array;
  private lens: Int32Array;
  /** Completed rows. */
  rows = 0;
  /** Tokens in the row being filled. */
  fill = 0;

  constructor(
    readonly batchSize: number,
    readonly seqLen: number,
    readonly padId: number,
  ) {
    this.ids = new Int32Array(batchSize * seqLen);
    this.anchors = new Uint8Array(batchSize * seqLen);
    this.docs = new Int32Array(batchSize * seqLen);
    this.lens = new Int32Array(batchSize);
  }

  /** Free tokens in the current row. */
  get space(): number {
    return this.seqLen - this.fill;
  }

  /** Appends tokens [from, to) of a document to the current row (caller checks space). */
  append(ids: Int32Array, anchors: Uint8Array, from: number, to: number, docId: number): void {
    const at = this.rows * this.seqLen + this.fill;
    this.ids.set(ids.subarray(from, to), at);
    this.anchors.set(anchors.subarray(from, to), at);
    this.docs.fill(docId, at, at + (to - from));
    this.fill += to - from;
  }

  /** Pads and closes the current row. */
  endRow(): void {
    const start = this.rows * this.seqLen;
    this.ids.fill(this.padId, start + this.fill, start + this.seqLen);
    this.anchors.fill(0, start + this.fill, start + this.seqLen);
    this.docs.fill(-1, start + this.fill, start + this.seqLen);
    this.lens[this.rows] = this.fill;
    this.rows++;
    this.fill = 0;
  }

  get full(): boolean {
    return this.rows === this.batchSize;
  }

  /** Returns the batch (trimmed to the completed rows) and starts a new one. */
  take(): SequenceBatch {
    const n = this.rows;
    const L = this.seqLen;
    const out: SequenceBatch = {
      batch: n,
      seqLen: L,
      inputIds: n === this.batchSize ? this.ids : this.ids.slice(0, n * L),
      anchorMask: n === this.batchSize ? this.anchors : this.anchors.slice(0, n * L),
      docIds: n === this.batchSize ? this.docs : this.docs.slice(0, n * L),
      lengths: n === this.batchSize ? this.lens : this.lens.slice(0, n),
    };
    this.ids = new Int32Array(this.batchSize * L);
    this.anchors = new Uint8Array(this.batchSize * L);
    this.docs = new Int32Array(this.batchSize * L);
    this.lens = new Int32Array(this.batchSize);
    this.rows = 0;
    this.fill = 0;
    return out;
  }
}
