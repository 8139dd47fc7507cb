// Node entry (@anllm/llama2-model/node): model folders on disk (read, load, save, convert).
// Everything here uses the file system; the main entry is browser-safe.
export {
  type ConvertOptions,
  convertModelFolder,
  loadModel,
  nodeModelFolder,
  openCheckpoint,
  readConfig,
  type SaveOptions,
  saveModel,
  saveModelFolder,
} from "./checkpoint";
