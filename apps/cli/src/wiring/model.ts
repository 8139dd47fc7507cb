// Model + tokenizer + anchors for the CLI: a fresh preset model (vocabulary sized to the
// tokenizer, <AC> row added for AC), an HF folder, or a checkpoint/run folder written by
// `anllm train` (whose anllm.json records the tokenizer and the anchor ids).

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Llama2, type LlamaConfig, type ModelDType, PRESETS, preset } from "@anllm/llama2-model";
import { loadModel } from "@anllm/llama2-model/node";
import {
  hfTokenizerFiles,
  type ResolvedAnchors,
  type Tokenizer,
  type TokenizerSpec,
  tokenizerFromSpec,
} from "@anllm/redpajama-loader";
import { latestCheckpoint } from "@anllm/trainer/node";
import { choice, intList, type OptionSpecs, required, str, type Values } from "../args";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { ANCHOR_MODES, type AnchorMode, anchorSetup, loadTokenizer } from "./tokenizer";

/** What `anllm train` writes next to the weights: how to rebuild tokenizer and anchors. */
export interface AnllmMeta {
  tokenizer: TokenizerSpec;
  anchor: { mode: AnchorMode; ids: number[] };
  acInit?: string;
}

/** A model ready to use, with its tokenizer and anchor settings. */
export interface LoadedModel {
  model: Llama2;
  tokenizer: Tokenizer;
  anchorMode: AnchorMode;
  anchors: ResolvedAnchors;
  /** the folder weights came from (undefined for a fresh preset) */
  dir?: string;
}

/** A run folder resolves to its latest checkpoint; any other folder is returned unchanged. */
export async function resolveModelDir(path: string): Promise<string> {
  if (existsSync(join(path, "checkpoints", "latest.json"))) {
    return (await latestCheckpoint(join(path, "checkpoints")))!;
  }
  return path;
}

/** Builds a fresh model from a preset (vocab from the tokenizer; <AC> row added for AC). */
export function freshModel(
  presetName: string,
  base: Tokenizer,
  mode: AnchorMode,
  opts: { seed: number; acInit: "mean" | "copy-period"; maxSeqLen?: number; initStd?: number },
): LoadedModel {
  if (!Object.hasOwn(PRESETS, presetName)) {
    throw new UsageError(
      "train",
      `--model "${presetName}" is neither a preset (${Object.keys(PRESETS).join(", ")}) nor a folder`,
    );
  }
  const config: LlamaConfig = {
    ...preset(presetName),
    vocabSize: base.vocabSize,
    bosTokenId: base.bosId,
    eosTokenId: base.eosId,
    ...(base.padId !== undefined ? { padTokenId: base.padId } : {}),
    ...(opts.maxSeqLen
      ? { maxSeqLen: Math.max(opts.maxSeqLen, preset(presetName).maxSeqLen) }
      : {}),
  };
  const model = Llama2.init(config, { seed: opts.seed, std: opts.initStd });
  return withAnchors(model, base, mode, opts.acInit);
}

/** Adds the anchor token rows for AC (mean or copy-of-"." init) and resolves anchors. */
export function withAnchors(
  model: Llama2,
  base: Tokenizer,
  mode: AnchorMode,
  acInit: "mean" | "copy-period",
): LoadedModel {
  const { tokenizer, anchors } = anchorSetup(base, mode);
  const period = base.tokenToId(".");
  while (model.config.vocabSize < tokenizer.vocabSize) {
    model.addAnchorToken(
      acInit === "mean" || period === undefined
        ? { init: "mean" }
        : { init: "copy", copyFrom: period },
    );
  }
  // the [PAD] row AC adds is the model's padding id (config.json pad_token_id)
  if (model.config.padTokenId === undefined && tokenizer.padId !== undefined)
    model.config.padTokenId = tokenizer.padId;
  return { model, tokenizer, anchorMode: mode, anchors };
}

/**
 * The files HF transformers reads next to the weights (tokenizer files with the added [PAD] and
 * <AC>, generation_config.json); none for the byte tokenizer of the test models.
 */
export function hfFolderFiles(l: LoadedModel): Record<string, string> {
  const c = l.model.config;
  const tokenizerFiles = hfTokenizerFiles(l.tokenizer, { modelMaxLength: c.maxSeqLen }) ?? {};
  const generation = {
    bos_token_id: c.bosTokenId ?? l.tokenizer.bosId,
    eos_token_id: c.eosTokenId ?? l.tokenizer.eosId,
    ...(c.padTokenId !== undefined ? { pad_token_id: c.padTokenId } : {}),
  };
  return {
    ...tokenizerFiles,
    "generation_config.json": `${JSON.stringify(generation, null, 2)}\n`,
  };
}

/** Loads a model folder (HF, checkpoint or run folder) with its tokenizer and anchors. */
export async function loadModelDir(
  command: string,
  path: string,
  opts: {
    tokenizer?: string;
    anchor?: AnchorMode;
    acInit?: "mean" | "copy-period";
    dtype?: ModelDType;
  } = {},
): Promise<LoadedModel> {
  if (!existsSync(path)) throw new UsageError(command, `--model folder not found: ${path}`);
  const dir = await resolveModelDir(path);
  if (!existsSync(join(dir, "config.json"))) {
    throw new UsageError(
      command,
      `--model ${path}: no config.json (expected an HF, checkpoint or run folder)`,
    );
  }
  const metaPath = join(dir, "anllm.json");
  const meta =
    existsSync(metaPath) && opts.tokenizer === undefined ? readAnllmMeta(metaPath) : null;
  const model = await loadModel(dir, opts.dtype ? { dtype: opts.dtype } : {});
  try {
    return resolveTokenizer(command, dir, model, meta, metaPath, opts);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A model folder's anllm.json does not parse or does not describe a tokenizer and anchors. */
export class ModelMetaError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "ModelMetaError";
  }
}

/** Reads and checks anllm.json (errors name the file and the field). */
export function readAnllmMeta(path: string): AnllmMeta {
  if (!statSync(path).isFile()) throw new ModelMetaError(path, "is not a regular file");
  let obj: unknown;
  try {
    obj = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ModelMetaError(path, `is not valid JSON (${(e as Error).message})`);
  }
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObj(obj)) throw new ModelMetaError(path, "must hold a JSON object");
  if (!isObj(obj.tokenizer) || typeof obj.tokenizer.kind !== "string") {
    throw new ModelMetaError(
      path,
      `field "tokenizer" must be a tokenizer spec object with a "kind", got ${JSON.stringify(obj.tokenizer)}`,
    );
  }
  const a = obj.anchor;
  if (!isObj(a) || !(ANCHOR_MODES as readonly unknown[]).includes(a.mode)) {
    throw new ModelMetaError(
      path,
      `field "anchor.mode" must be one of ${ANCHOR_MODES.join(", ")}, got ${JSON.stringify(isObj(a) ? a.mode : a)}`,
    );
  }
  if (!Array.isArray(a.ids) || !a.ids.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new ModelMetaError(
      path,
      `field "anchor.ids" must be a list of token ids, got ${JSON.stringify(a.ids)}`,
    );
  }
  return obj as unknown as AnllmMeta;
}

/** Refuses token ids at or above the model's vocabulary size, naming where they came from. */
export function checkIdsInVocab(
  where: string,
  field: string,
  ids: readonly number[],
  vocabSize: number,
  command?: string,
): void {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
  if (bad === undefined) return;
  const msg = `${field} holds token id ${bad}, outside the model's vocabulary (ids 0..${vocabSize - 1})`;
  if (command) throw new UsageError(command, msg);
  throw new ModelMetaError(where, msg);
}

/** The tokenizer and anchors of a loaded model folder (anllm.json, --tokenizer or defaults). */
function resolveTokenizer(
  command: string,
  dir: string,
  model: Llama2,
  meta: AnllmMeta | null,
  metaPath: string,
  opts: { tokenizer?: string; anchor?: AnchorMode; acInit?: "mean" | "copy-period" },
): LoadedModel {
  if (meta) checkIdsInVocab(metaPath, '"anchor.ids"', meta.anchor.ids, model.config.vocabSize);
  const base = meta
    ? tokenizerFromMeta(meta, metaPath, model.config.vocabSize)
    : loadTokenizer(
        command,
        opts.tokenizer ?? (existsSync(join(dir, "tokenizer.json")) ? dir : "llama2"),
      );
  // an HF-format AnLLM-AC folder without anllm.json: its tokenizer knows <AC>
  const mode =
    opts.anchor ?? meta?.anchor.mode ?? (base.tokenToId("<AC>") !== undefined ? "ac" : "ep");
  if (meta && mode === meta.anchor.mode) {
    const anchors = {
      mode,
      ids: meta.anchor.ids,
      placement: "after" as const,
      lineBreaks: "space" as const,
    };
    return { model, tokenizer: base, anchorMode: mode, anchors, dir };
  }
  if (base.vocabSize > model.config.vocabSize) {
    throw new UsageError(
      command,
      `tokenizer ${base.name} has ${base.vocabSize} ids but the model only ${model.config.vocabSize}; ` +
        "pass the model's tokenizer with --tokenizer",
    );
  }
  if (opts.acInit && mode === "ac") return { ...withAnchors(model, base, mode, opts.acInit), dir };
  const { tokenizer, anchors } = anchorSetup(base, mode);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new UsageError(
      command,
      `the model has no rows for the tokens added by --anchor ${mode} (vocab ${model.config.vocabSize}, ` +
        `tokenizer ${tokenizer.vocabSize}); train it with --anchor ac first, or use --anchor ep`,
    );
  }
  return { model, tokenizer, anchorMode: mode, anchors, dir };
}

/** The tokenizer an anllm.json describes; its special ids must be inside the model's vocabulary. */
function tokenizerFromMeta(meta: AnllmMeta, metaPath: string, vocabSize: number): Tokenizer {
  let t: Tokenizer;
  try {
    t = tokenizerFromSpec(meta.tokenizer);
  } catch (e) {
    throw new ModelMetaError(metaPath, `field "tokenizer": ${(e as Error).message}`);
  }
  if (t.vocabSize > vocabSize) {
    throw new ModelMetaError(
      metaPath,
      `field "tokenizer" describes a tokenizer of ${t.vocabSize} ids (${t.name}), but the model has only ${vocabSize}`,
    );
  }
  const special: [string, number | undefined][] = [
    ["bos", t.bosId],
    ["eos", t.eosId],
    ["pad", t.padId],
  ];
  for (const [name, id] of special) {
    if (id !== undefined) checkIdsInVocab(metaPath, `the tokenizer's ${name} id`, [id], vocabSize);
  }
  return t;
}

/** The anllm.json content for a model trained with `tokenizer` and `anchors`. */
export function anllmMeta(l: LoadedModel, acInit?: string): AnllmMeta {
  return {
    tokenizer: l.tokenizer.spec(),
    anchor: { mode: l.anchorMode, ids: l.anchors.ids },
    acInit,
  };
}

/** The model options every command that scores or generates takes, with one meaning. */
export const MODEL_OPTIONS: OptionSpecs = {
  model: { type: "string", arg: "DIR", help: "model, checkpoint or run folder (required)" },
  tokenizer: { type: "string", arg: "NAME|PATH", help: "override the model's tokenizer" },
  anchor: {
    type: "string",
    arg: "ep|ac|none",
    help: "anchor strategy",
    computedDefault: "the model's",
  },
  "anchor-ids": {
    type: "string",
    arg: "IDS",
    help: "token ids that count as anchors (inside the model's vocabulary)",
  },
  dtype: {
    type: "string",
    arg: "f32|f16",
    help: "dtype of weights, activations and K/V on the device (f16: half the memory; f32 with a note where the adapter lacks shader-f16)",
    default: "f32",
  },
};

/**
 * Loads `--model` with `--tokenizer` and `--anchor` applied, then `--anchor-ids` (checked against
 * the model's vocabulary; with a model that has no anchors they become EP anchors).
 */
export async function loadModelFromOptions(
  command: string,
  v: Values,
  io: Io,
): Promise<LoadedModel> {
  const dir = required(command, v, "model", "the model folder");
  const anchor = choice(command, v, "anchor", ANCHOR_MODES);
  const ids = intList(command, v, "anchor-ids");
  const tokenizer = str(v, "tokenizer");
  const dtype = choice(command, v, "dtype", ["f32", "f16"] as const);
  const l = await loadModelDir(command, dir, {
    ...(tokenizer !== undefined ? { tokenizer } : {}),
    ...(anchor ? { anchor } : {}),
    ...(dtype ? { dtype } : {}),
  });
  if (l.model.dtypeNote) io.err(`note: --dtype ${dtype}: ${l.model.dtypeNote}\n`);
  if (ids === undefined) return l;
  try {
    checkIdsInVocab("", "--anchor-ids", ids, l.model.config.vocabSize, command);
  } catch (e) {
    l.model.dispose();
    throw e;
  }
  const mode = l.anchors.mode === "none" ? "ep" : l.anchors.mode;
  return { ...l, anchorMode: mode, anchors: { ...l.anchors, mode, ids } };
}
