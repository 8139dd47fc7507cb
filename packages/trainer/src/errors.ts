// Named error classes of @anllm/trainer: bad options, non-finite losses or gradients, and
// unreadable or inconsistent checkpoints. Each message says what was expected and how to fix it.

/** An option passed to the trainer is missing, out of range or inconsistent. */
export class TrainerConfigError extends Error {
  constructor(
    /** the option's name, e.g. "gradAccum" */
    readonly field: string,
    message: string,
  ) {
    super(`trainer option "${field}": ${message}`);
    this.name = "TrainerConfigError";
  }
}

/** The loss or the gradient norm became NaN or Infinity and the policy is "stop". */
export class NonFiniteError extends Error {
  constructor(
    /** the optimiser step (1-based) whose loss or gradient was not finite */
    readonly step: number,
    /** which value was bad */
    readonly what: "loss" | "gradNorm",
    readonly value: number,
    /** folder of the checkpoint holding the last good state, or null if none could be written */
    readonly checkpointDir: string | null,
    detail = "",
    /** true when the step was the first after resuming: the checkpoint itself is suspect */
    readonly firstAfterResume = false,
  ) {
    super(
      `non-finite ${what} (${value}) at step ${step}; training stopped.` +
        (checkpointDir && firstAfterResume
          ? ` This was the first step after resuming from ${checkpointDir} (after step ${step - 1}), ` +
            "so that checkpoint is not known to be good: resume from an earlier one."
          : checkpointDir
            ? ` The last good state (after step ${step - 1}) is saved in ${checkpointDir}.`
            : " No output folder was given, so no checkpoint was written.") +
        " Try a lower learning rate, a longer warm-up or gradient clipping, or the policy" +
        ` onNonFinite: "skip" to drop such steps.${detail}`,
    );
    this.name = "NonFiniteError";
  }
}

/** A checkpoint is missing, incomplete or does not match the parameters it is loaded into. */
export class CheckpointError extends Error {
  constructor(
    /** the file or folder concerned */
    readonly path: string,
    /** what is wrong, without the path */
    readonly detail: string,
    /** resuming: an older checkpoint folder that is complete, to resume from instead */
    readonly previous?: string,
  ) {
    super(
      `checkpoint ${path}: ${detail}` +
        (previous
          ? `. The previous checkpoint ${previous} is complete: resume from it instead.`
          : ""),
    );
    this.name = "CheckpointError";
  }
}

/** The batch stream ended before the requested number of steps (only with `dataEnd: "error"`). */
export class DataExhaustedError extends Error {
  constructor(readonly step: number) {
    super(
      `the batch stream ended during step ${step}; give more data, fewer steps, or a stream that repeats`,
    );
    this.name = "DataExhaustedError";
  }
}
