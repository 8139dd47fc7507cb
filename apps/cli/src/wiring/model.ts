// Model + tokenizer + anchors for the CLI: a fresh preset model (vocabulary sized to the
// tokenizer, <AC> row added for AC), an HF folder, or a checkpoint/run folder written by
// `anllm train` (whose anllm.json records the tokenizer and the anchor ids).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Llama2, type LlamaConfig, PRESETS, preset } from "@anllm/llama2-model";
import {
  type ResolvedAnchors,
  type Tokenizer,
  type TokenizerSpec,
  tokenizerFromSpec,
} from "@anllm/redpajama-loader";
import { latestCheckpoint } from "@anllm/trainer";
import { UsageError } from "../errors";
import { type AnchorMode, anchorSetup, loadTokenizer } from "./tokenizer";

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
  opts: { seed: number; acInit: "mean" | "copy-period"; maxSeqLen?: number },
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
  const model = Llama2.init(config, { seed: opts.seed });
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
  return { model, tokenizer, anchorMode: mode, anchors };
}

/** Loads a model folder (HF, checkpoint or run folder) with its tokenizer and anchors. */
export async function loadModelDir(
  command: string,
  path: string,
  opts: { tokenizer?: string; anchor?: AnchorMode; acInit?: "mean" | "copy-period" } = {},
): Promise<LoadedModel> {
  if (!existsSync(path)) throw new UsageError(command, `--model folder not found: ${path}`);
  const dir = await resolveModelDir(path);
  if (!existsSync(join(dir, "config.json"))) {
    throw new UsageError(
      command,
      `--model ${path}: no config.json (expected an HF, checkpoint or run folder)`,
    );
  }
  const model = await Llama2.load(dir);
  const metaPath = join(dir, "anllm.json");
  const meta =
    existsSync(metaPath) && opts.tokenizer === undefined
      ? (JSON.parse(readFileSync(metaPath, "utf8")) as AnllmMeta)
      : null;
  const base = meta
    ? tokenizerFromSpec(meta.tokenizer)
    : loadTokenizer(
        command,
        opts.tokenizer ?? (existsSync(join(dir, "tokenizer.json")) ? dir : "llama2"),
      );
  const mode = opts.anchor ?? meta?.anchor.mode ?? "ep";
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

/** The anllm.json content for a model trained with `tokenizer` and `anchors`. */
export function anllmMeta(l: LoadedModel, acInit?: string): AnllmMeta {
  return {
    tokenizer: l.tokenizer.spec(),
    anchor: { mode: l.anchorMode, ids: l.anchors.ids },
    acInit,
  };
}
