// Node entry (@anllm/trainer/node): the training loop with its run folder (metrics.jsonl, atomic
// checkpoints, resume), the checkpoint files and the metrics reader. The main entry is browser-safe.
export {
  latestCheckpoint,
  loadCheckpoint,
  readTrainerState,
  safetensorsWeights,
  saveCheckpoint,
} from "./checkpoint";
export { readMetrics } from "./metrics";
export { train } from "./train";
