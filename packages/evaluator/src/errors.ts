// Named error classes of @anllm/evaluator: bad data files, bad options, and scorer contract violations.

/** Base class of every error thrown by the evaluator. */
export class EvaluatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EvaluatorError";
  }
}

/** A data file (token file, jsonl, labels) does not have the expected format. */
export class DataFormatError extends EvaluatorError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly field: string | null,
    detail: string,
  ) {
    const where = `${file}${line !== null ? `:${line}` : ""}${field ? ` (field "${field}")` : ""}`;
    super(`${where}: ${detail}`);
    this.name = "DataFormatError";
  }
}

/** An option is out of range or inconsistent with the data/model. */
export class EvalConfigError extends EvaluatorError {
  constructor(message: string) {
    super(message);
    this.name = "EvalConfigError";
  }
}

/** A scorer returned results that violate the Scorer contract (wrong count or length). */
export class ScorerContractError extends EvaluatorError {
  constructor(message: string) {
    super(message);
    this.name = "ScorerContractError";
  }
}

/** A score (perplexity, loss, accuracy input) came out NaN or Infinity: an error, not a number. */
export class NonFiniteScoreError extends EvaluatorError {
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteScoreError";
  }
}
