// "Anchor inference in your browser": opens a model folder (the bundled AnLLM-AC checkpoint, or one
// the user drops), encodes the prompt exactly as `anllm generate` does, and generates greedily with
// the anchor or the full K/V cache, reporting the cache after every step. Browser-safe: it imports
// only the packages' browser entries, so the same code also runs under Node in the tests.
import {
  type CacheStats,
  type GenerateStep,
  generate,
  Llama2,
  type ModelFolder,
  urlModelFolder,
} from "@anllm/llama2-model";
import {
  byteTokenizer,
  encodePrompt,
  type ResolvedAnchors,
  type Tokenizer,
  type TokenizerSpec,
  withAddedTokens,
} from "@anllm/redpajama-loader/text";
import { type Device, initDevice } from "@anllm/tensor";

export { filesModelFolder } from "@anllm/llama2-model";

/** The checkpoint shipped with the docs (apps/docs/public/models/anllm-ac-tiny, see its recipe.json). */
export const BUNDLED_MODEL = {
  dir: "models/anllm-ac-tiny",
  files: ["config.json", "model.safetensors", "anllm.json", "generation_config.json"],
} as const;

/** The page's default prompt: three finished sentences (three <AC> anchors) and an open one. */
export const DEFAULT_PROMPT =
  "The city was founded in the year of the great river. It grew fast. People came from far away to trade. In the summer";

/**
 * The page feeds the prompt one token at a time so the cache view has a row per token; the CLI
 * does the same with `--chunk-size 1` (its default, 64, reduces the cache after 64-token chunks).
 */
export const PAGE_CHUNK_SIZE = 1;

/** The page's WebGPU device and what its adapter offers. */
export interface PageDevice {
  device: Device;
  /** adapter features (shader-f16, subgroups, timestamp-query, ...) */
  features: string[];
}

let opened: Promise<PageDevice> | null = null;

/**
 * Opens the page's WebGPU device once (the default device of @anllm/tensor). Rejects with
 * DeviceUnavailableError, whose message says what to enable, when the browser has no WebGPU.
 */
export function pageDevice(): Promise<PageDevice> {
  opened ??= (async () => {
    const device = await initDevice({ prefer: "webgpu" });
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    const adapter = await gpu?.requestAdapter();
    return { device, features: adapter ? [...adapter.features].map(String).sort() : [] };
  })();
  opened.catch(() => {
    opened = null;
  });
  return opened;
}

/** A model ready to generate on the page, with its tokenizer and anchor ids. */
export interface PageModel {
  model: Llama2;
  /** null when the folder's tokenizer cannot run on the page (prompts are then token ids) */
  tokenizer: Tokenizer | null;
  /** "ac" | "ep" from anllm.json, "none" without anchors */
  anchorMode: string;
  anchorIds: number[];
  eosId: number;
  label: string;
}

/** anllm.json as `anllm train` writes it (tokenizer spec and anchor ids). */
interface AnllmMeta {
  tokenizer?: TokenizerSpec;
  anchor?: { mode?: string; ids?: number[] };
}

/** The tokenizers a page can rebuild from a spec: the byte tokenizer and added tokens on it. */
export function pageTokenizer(spec: TokenizerSpec): Tokenizer {
  if (spec.kind === "bytes") return byteTokenizer();
  if (spec.kind === "added") return withAddedTokens(pageTokenizer(spec.base), spec.tokens);
  throw new Error(
    `the page rebuilds only byte-level tokenizers (anllm.json "tokenizer.kind" is "${spec.kind}"); type the prompt as token ids`,
  );
}

/** The bundled checkpoint as a folder fetched from the site (`base` = the site's base URL). */
export function bundledFolder(base: string): ModelFolder {
  return urlModelFolder(`${base.replace(/\/+$/, "")}/${BUNDLED_MODEL.dir}`, BUNDLED_MODEL.files);
}

/** Loads a model folder onto `device`, with the tokenizer and anchors its anllm.json records. */
export async function openPageModel(folder: ModelFolder, device: Device): Promise<PageModel> {
  let meta: AnllmMeta = {};
  if (await folder.exists("anllm.json")) {
    try {
      meta = JSON.parse(await folder.readText("anllm.json")) as AnllmMeta;
    } catch (e) {
      throw new Error(`${folder.path("anllm.json")}: not valid JSON (${(e as Error).message})`);
    }
  }
  const model = await Llama2.load(folder, { device });
  let tokenizer: Tokenizer | null = null;
  let note = "";
  try {
    tokenizer = meta.tokenizer ? pageTokenizer(meta.tokenizer) : null;
  } catch (e) {
    note = (e as Error).message;
  }
  if (tokenizer && tokenizer.vocabSize > model.config.vocabSize) {
    note = `the tokenizer has ${tokenizer.vocabSize} ids but the model only ${model.config.vocabSize}`;
    tokenizer = null;
  }
  const ids = meta.anchor?.ids ?? [];
  const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < model.config.vocabSize));
  if (bad !== undefined) {
    model.dispose();
    throw new Error(
      `${folder.path("anllm.json")}: anchor id ${bad} is outside the model's vocabulary (0..${model.config.vocabSize - 1})`,
    );
  }
  return {
    model,
    tokenizer,
    anchorMode: meta.anchor?.mode ?? (ids.length > 0 ? "ep" : "none"),
    anchorIds: ids,
    eosId: tokenizer?.eosId ?? model.config.eosTokenId ?? -1,
    label: note ? `${folder.label} (${note})` : folder.label,
  };
}

/** Prompt ids as `anllm generate --prompt` makes them (AC: <AC> after finished sentences). */
export function promptIds(pm: PageModel, text: string): Int32Array {
  if (!pm.tokenizer) {
    const ids = text
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    const bad = ids.find(
      (id) => !(Number.isInteger(id) && id >= 0 && id < pm.model.config.vocabSize),
    );
    if (bad !== undefined || ids.length === 0) {
      throw new Error(
        `this model's tokenizer does not run on the page: type the prompt as token ids 0..${pm.model.config.vocabSize - 1}, e.g. "1, 450, 4996"`,
      );
    }
    return Int32Array.from(ids);
  }
  const anchors: ResolvedAnchors = {
    mode: pm.anchorMode === "ac" ? "ac" : pm.anchorMode === "ep" ? "ep" : "none",
    ids: pm.anchorIds,
    placement: "after",
    lineBreaks: "space",
  };
  return encodePrompt(text, pm.tokenizer, anchors);
}

/** A token's label on the page. */
export function tokenLabel(pm: PageModel, id: number): string {
  const piece = pm.tokenizer?.idToPiece(id);
  if (piece !== undefined) return piece === " " ? "▁" : piece;
  if (pm.tokenizer && pm.anchorIds.includes(id)) return "<AC>";
  return pm.tokenizer ? `#${id}` : String(id);
}

/** The cache numbers `anllm generate --json` prints (its "cache" object). */
export interface CacheSummary {
  /** mean entries over the run's steps (the cache policies' C mean) */
  meanEntries: number;
  peakEntries: number;
  fullEntries: number;
  reduction: number;
  peakBytes: number;
  fullBytes: number;
}

/** The cache now, for the live view. */
export interface LiveCache {
  /** tokens fed so far (prompt + generated) */
  fed: number;
  /** original positions of the cache rows kept now */
  kept: number[];
  entries: number;
  bytes: number;
  peakBytes: number;
  fullBytes: number;
}

/** One generation's result, in the CLI's terms plus the per-step cache. */
export interface PageGeneration {
  prompt: number[];
  tokens: number[];
  cache: CacheSummary;
  /** keptAfter[t] = original positions kept after token t was fed (cache-timeline rows) */
  keptAfter: number[][];
  /** time of `generate`, minus the time the page spent in onStep (painting the live view) */
  timeMs: number;
  /** timeMs per new token (prompt feeding included, as in the CLI's tokensPerSec) */
  msPerToken: number;
}

/** The "cache" object of `anllm generate --json` from a CacheStats. */
export function cacheSummary(stats: CacheStats): CacheSummary {
  const peak = stats.peakEntries[0] ?? 0;
  const full = stats.fullEntries[0] ?? 0;
  return {
    meanEntries: stats.meanEntries[0] ?? 0,
    peakEntries: peak,
    fullEntries: full,
    reduction: full > 0 ? 1 - peak / full : 0,
    peakBytes: stats.peakBytes,
    fullBytes: stats.fullBytes,
  };
}

/**
 * Greedy generation as `anllm generate --greedy --chunk-size 1` runs it; `onStep` sees the cache
 * after each fed token (awaited, so a page can repaint between tokens).
 */
export async function generateOnPage(
  pm: PageModel,
  prompt: Int32Array,
  opts: {
    maxNewTokens: number;
    cache: "anchor" | "full";
    onStep?: (live: LiveCache, generated: readonly number[]) => void | Promise<void>;
  },
): Promise<PageGeneration> {
  const keptAfter: number[][] = [];
  let viewMs = 0;
  const onStep = async (s: GenerateStep) => {
    const t0 = performance.now();
    const rows = Array.from(s.cache.cachedRows(0).pos);
    keptAfter.push(rows);
    const st = s.cache.stats();
    await opts.onStep?.(
      {
        fed: keptAfter.length,
        kept: rows,
        entries: st.entries[0] ?? 0,
        bytes: st.bytes,
        peakBytes: st.peakBytes,
        fullBytes: st.fullBytes,
      },
      s.generated[0] ?? [],
    );
    viewMs += performance.now() - t0;
  };
  const res = await generate(pm.model, [prompt], {
    maxNewTokens: opts.maxNewTokens,
    seed: 34,
    eosId: pm.eosId,
    anchorIds: pm.anchorIds,
    cache: opts.cache,
    chunkSize: PAGE_CHUNK_SIZE,
    onStep,
  });
  const tokens = Array.from(res.tokens[0] ?? []);
  return {
    prompt: Array.from(prompt),
    tokens,
    cache: cacheSummary(res.stats),
    keptAfter,
    timeMs: res.timeMs - viewMs,
    msPerToken: (res.timeMs - viewMs) / Math.max(1, tokens.length),
  };
}
