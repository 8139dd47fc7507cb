// Named error classes of @anllm/anchor-mask. Every message names the argument/field, the index where
// it applies, what was expected and what was found, so a caller can fix the input without a debugger.

/** Bad input to a mask/structure function: wrong length, out-of-range value, non-contiguous docs. */
export class AnchorMaskInputError extends Error {
  /**
   * @param field the argument or option at fault, e.g. `"options.documentIds"`
   * @param problem what was expected and what was found
   */
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "AnchorMaskInputError";
  }
}

/** Misuse of the inference state machine (`AnchorCacheState`), e.g. committing a stale step. */
export class AnchorCacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnchorCacheError";
  }
}
