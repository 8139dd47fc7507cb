// Named error classes of @anllm/redpajama-loader: dataset layout problems, bad records (strict
// mode), tokenizer problems, resume-state mismatches, bad options and tokenisation-thread failures.

/** A dataset path or layout cannot be used (missing path, no data files, missing mirror files). */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetError";
  }
}

/** A record or file failed a check; thrown only in `strict` mode (otherwise counted). */
export class BadRecordError extends Error {
  /** Reason code, e.g. "malformed-json". */
  readonly reason: string;
  /** File the record came from. */
  readonly file: string;
  /** 1-based line number in the (decompressed) file. */
  readonly line: number;
  constructor(reason: string, file: string, line: number, detail: string) {
    super(`${file}:${line}: ${reason}: ${detail}`);
    this.name = "BadRecordError";
    this.reason = reason;
    this.file = file;
    this.line = line;
  }
}

/** A tokenizer could not be built or lacks a required token. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenizerError";
  }
}

/** A saved loader state does not belong to this loader configuration or is malformed. */
export class ResumeStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResumeStateError";
  }
}

/** Invalid option values passed to the loader. */
export class LoaderOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoaderOptionsError";
  }
}

/** A tokenisation worker thread failed (it could not start, crashed, or could not encode). */
export class TokenizeWorkerError extends Error {
  constructor(message: string) {
    super(`tokenize worker: ${message}`);
    this.name = "TokenizeWorkerError";
  }
}
