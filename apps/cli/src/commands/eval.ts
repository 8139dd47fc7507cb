// `anllm eval ppl | qa | cache`: thin wrappers over @anllm/evaluator (perplexity with the LongLoRA
// protocol, lm-eval-harness multiple-choice QA, and the long-prompt K/V cache experiment) for a
// model folder; --out writes report.json / report.md (/ ppl.svg) there.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AnchorStream,
  cacheMarkdownTable,
  deriveAnchorStream,
  evaluatePerplexity,
  FEWSHOT_FILES,
  findFewshotFile,
  LlamaScorer,
  loadEvalTokens,
  type PplSeries,
  policyMarkdownTables,
  pplMarkdownTable,
  qaMarkdownTable,
  RECALL_KEY_COUNT,
  recallFacts,
  runCacheEval,
  runPasskey,
  runPolicyBench,
  runQaEval,
  sentenceAnchorTransform,
  TASK_NAMES,
  type TaskName,
  type TaskSource,
  textTokenizerOf,
  tokenizeFact,
  tokenizeSentences,
  writeReport,
} from "@anllm/evaluator";
import {
  defaultDatasetPath,
  readDocuments,
  resolveAnchors,
  splitSentences,
} from "@anllm/redpajama-loader";
import { atomicWrite } from "@anllm/tensor/io";
import {
  choice,
  int,
  intList,
  type OptionSpecs,
  type Parsed,
  required,
  str,
  type Values,
} from "../args";
import type { CommandGroup } from "../command";
import { UsageError } from "../errors";
import { emit, type Io } from "../io";
import { ensureDevice } from "../wiring/device";
import { documentTokens } from "../wiring/heldout";
import { type LoadedModel, loadModelFromOptions, MODEL_OPTIONS } from "../wiring/model";
import { checkInputPath, checkOutputDir } from "../wiring/paths";
import { POLICY_OPTION, parsePolicies, separatorIds } from "../wiring/policy";

const COMMON_OPTIONS: OptionSpecs = {
  ...MODEL_OPTIONS,
  out: { type: "string", arg: "DIR", help: "write report.json / report.md here" },
};

const PPL_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  data: {
    type: "string",
    arg: "PATH",
    help: "token file (.bin uint16) or text (.txt/.jsonl[.gz]/folder)",
    computedDefault: "embedded held-out split",
  },
  lengths: { type: "string", arg: "L,L", help: "context lengths", default: "256" },
  stride: { type: "string", arg: "N", help: "distance between window starts", default: "256" },
  attention: {
    type: "string",
    arg: "full|anchor|both",
    help: "attention for scoring",
    default: "both",
  },
  "max-windows": {
    type: "string",
    arg: "N",
    help: "score only the first N windows per length (0 = up to 64 for text)",
    default: "0",
  },
  "batch-size": { type: "string", arg: "N", help: "windows per forward", default: "1" },
  policy: {
    ...POLICY_OPTION,
    arg: "NAME[:k=v,...],...",
    help: `perplexity through the cache of each policy, chunk by chunk (${POLICY_OPTION.help}); replaces --attention`,
  },
  "chunk-size": { type: "string", arg: "N", help: "chunk of --policy scoring", default: "64" },
  "plain-text": {
    type: "boolean",
    help: "tokenise text without inserting <AC> (the paper's protocol: full attention scores the plain text; an AC model's anchor attention a derived stream, original tokens only)",
  },
  "extend-positions": {
    type: "boolean",
    help: "allow --lengths above the model's max_position_embeddings (warns)",
  },
};

const QA_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  task: {
    type: "string",
    multiple: true,
    arg: "NAME=FILE",
    help: `task and its eval file (repeatable); tasks: ${TASK_NAMES.join(", ")}`,
  },
  shots: { type: "string", arg: "N", help: "few-shot demonstrations", default: "0" },
  "fewshot-data": {
    type: "string",
    multiple: true,
    arg: "NAME=FILE|DIR",
    help: "training split the demonstrations come from (repeatable), or a folder of the tasks' public releases (e.g. DIR/openbookqa/train.jsonl)",
  },
  attention: {
    type: "string",
    arg: "full|anchor",
    help: "full attention or anchor cache (AnSAN)",
    default: "anchor",
  },
  limit: { type: "string", arg: "N", help: "score only the first N documents per task" },
  policy: { ...POLICY_OPTION, help: `score through this cache policy (${POLICY_OPTION.help})` },
  "chunk-size": {
    type: "string",
    arg: "N",
    help: "prefill chunk of the cached path (unset: the whole context at once; h2o evicts between chunks)",
  },
  "no-speed": { type: "boolean", help: "skip the timing baselines of anchor runs" },
  "log-samples": {
    type: "boolean",
    help: "keep each document's log-likelihoods and prediction in the output and report (lm-eval-harness --log_samples)",
  },
};

const CACHE_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  data: {
    type: "string",
    arg: "PATH",
    help: "text to build long prompts from",
    computedDefault: "embedded held-out split",
  },
  "prompt-lengths": {
    type: "string",
    arg: "L,L",
    help: "prompt lengths in tokens",
    default: "256",
  },
  "max-new-tokens": {
    type: "string",
    arg: "N",
    help: "tokens generated per prompt",
    default: "16",
  },
  prompts: { type: "string", arg: "N", help: "prompts per length", default: "1" },
  "no-cache-baseline": { type: "boolean", help: "skip the (slow) recompute baseline" },
  policy: {
    ...POLICY_OPTION,
    arg: "NAME[:k=v,...],...",
    help: `compare KV-cache policies side by side (${POLICY_OPTION.help}): C, T, perplexity through the cache and recall by distance`,
  },
  "recall-seed": {
    type: "string",
    arg: "N",
    help: "seed of the associative-recall prompts (with --policy)",
    default: "7",
  },
  distances: {
    type: "string",
    arg: "D,D",
    help: "recall distances in tokens (with --policy)",
    default: "16,64,256,1024,2048",
  },
  "chunk-size": { type: "string", arg: "N", help: "prefill / scoring chunk", default: "64" },
  "extend-positions": {
    type: "boolean",
    help: "allow prompts + new tokens above the model's max_position_embeddings (warns)",
  },
};

const PASSKEY_OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  policy: {
    ...POLICY_OPTION,
    arg: "NAME[:k=v,...],...",
    help: `cache policies to compare (${POLICY_OPTION.help})`,
    default: "full",
  },
  lengths: { type: "string", arg: "L,L", help: "prompt lengths in tokens", default: "1024" },
  depths: {
    type: "string",
    arg: "D,D",
    help: "passkey depths (fractions of the filler)",
    default: "0,0.25,0.5,0.75,1",
  },
  trials: { type: "string", arg: "N", help: "prompts per length and depth", default: "5" },
  seed: { type: "string", arg: "N", help: "passkey seed", default: "0" },
  "chunk-size": { type: "string", arg: "N", help: "prefill chunk", default: "64" },
  "extend-positions": {
    type: "boolean",
    help: "allow --lengths above the model's max_position_embeddings (warns)",
  },
};

/** `eval passkey`: the LongLoRA/Landmark passkey prompt, accuracy by length and depth per policy. */
async function passkey({ values: v }: Parsed, io: Io): Promise<number> {
  const c = "eval passkey";
  const policies = parsePolicies(c, str(v, "policy") ?? "full");
  const lengths = lengthsOpt(c, v, "lengths");
  const depthText = str(v, "depths") ?? "";
  const depths = depthText.split(",").map(Number);
  if (depths.some((d) => !(d >= 0 && d <= 1)))
    throw new UsageError(c, `--depths expects fractions in [0, 1], got ${depthText}`);
  const trials = int(c, v, "trials", 1, 1000)!;
  const seed = int(c, v, "seed", 0)!;
  const chunkSize = int(c, v, "chunk-size", 1)!;
  outDirOpt(c, v);
  const l = await openModel(c, v, io);
  checkPositions(c, v, io, l, Math.max(...lengths) + 8, `--lengths ${Math.max(...lengths)}`);
  const scorer = new LlamaScorer(l.model, { maxLength: Math.max(...lengths) + 8 });
  const encode = (t: string) => l.tokenizer.encodeContinuation(t);
  const seps = separatorIds(l.tokenizer, policies);
  const results: { policy: string; cells: Awaited<ReturnType<typeof runPasskey>> }[] = [];
  for (const p of policies) {
    const cells = await runPasskey(scorer, encode, {
      lengths,
      depths,
      trials,
      seed,
      bosId: l.tokenizer.bosId,
      generate: {
        cache: p.policy,
        anchorIds: l.anchors.ids,
        separatorIds: seps,
        chunkSize,
        eosId: -1,
      },
    });
    results.push({ policy: p.spec, cells });
  }
  l.model.dispose();
  const table = () =>
    [
      `| policy | length | ${depths.map((d) => `depth ${d}`).join(" | ")} |`,
      `|---|---:|${depths.map(() => "---:").join("|")}|`,
      ...results.flatMap((r) =>
        lengths.map(
          (L) =>
            `| ${r.policy} | ${L} | ${depths
              .map((d) => {
                const cell = r.cells.find((x) => x.length === L && x.depth === d);
                return cell ? `${cell.correct}/${cell.trials}` : "-";
              })
              .join(" | ")} |`,
        ),
      ),
    ].join("\n");
  const out = { model: str(v, "model"), trials, seed, results };
  return finish(
    c,
    io,
    v,
    out,
    async (dir) => {
      const json = join(dir, "passkey.json");
      await atomicWrite(json, `${JSON.stringify(out, null, 2)}\n`);
      return [json];
    },
    table,
  );
}

async function openModel(c: string, v: Values, io: Io): Promise<LoadedModel> {
  required(c, v, "model", "the model folder");
  await ensureDevice(io);
  return loadModelFromOptions(c, v, io);
}

/** --out checked (created, writable) before any scoring; undefined without --out. */
function outDirOpt(c: string, v: Values): string | undefined {
  const out = str(v, "out");
  if (out !== undefined) checkOutputDir(c, "--out", out);
  return out;
}

/**
 * Writes the report into --out (when given) and prints it; a failed write still prints the
 * report on stdout (with --json, inside the one JSON object as `reportError`) and exits 1.
 */
async function finish(
  c: string,
  io: Io,
  v: Values,
  out: Record<string, unknown>,
  write: ((dir: string) => Promise<string[]>) | null,
  human: () => string,
): Promise<number> {
  const dir = str(v, "out");
  let failure: string | null = null;
  if (dir !== undefined && write) {
    try {
      out.report = await write(dir);
    } catch (e) {
      failure = (e as Error).message;
      out.reportError = failure;
    }
  }
  emit(io, v.json === true, out, human);
  if (failure === null) return 0;
  io.err(
    `anllm ${c}: could not write the report into --out ${dir}: ${failure}\n` +
      "The report is printed above on stdout.\n",
  );
  return 1;
}

/** Refuses `needed` positions above the model's max_position_embeddings unless --extend-positions. */
function checkPositions(
  c: string,
  v: Values,
  io: Io,
  l: LoadedModel,
  needed: number,
  what: string,
) {
  const max = l.model.config.maxSeqLen;
  if (needed <= max) return;
  if (v["extend-positions"] !== true) {
    l.model.dispose();
    throw new UsageError(
      c,
      `${what} needs ${needed} positions but the model has max_position_embeddings ${max}; ` +
        "pass --extend-positions to score beyond the positions it was trained on",
    );
  }
  io.err(
    `warning: --extend-positions: ${what} uses ${needed} positions, beyond the model's ` +
      `max_position_embeddings ${max} (positions it never saw in training; results may be meaningless)\n`,
  );
}

function lengthsOpt(c: string, v: Values, name: string): number[] {
  const ls = intList(c, v, name) ?? [];
  if (ls.length === 0 || ls.some((l) => l < 2))
    throw new UsageError(c, `--${name} expects lengths >= 2`);
  return ls;
}

async function ppl({ values: v }: Parsed, io: Io): Promise<number> {
  const c = "eval ppl";
  const lengths = lengthsOpt(c, v, "lengths");
  const stride = int(c, v, "stride", 1)!;
  const which = choice(c, v, "attention", ["full", "anchor", "both"] as const)!;
  const maxWindows = int(c, v, "max-windows", 0)!;
  const batchSize = int(c, v, "batch-size", 1, 1024)!;
  const data = str(v, "data") ?? defaultDatasetPath("heldout");
  checkInputPath(c, "--data", data);
  outDirOpt(c, v);
  const l = await openModel(c, v, io);
  checkPositions(c, v, io, l, Math.max(...lengths), `--lengths ${Math.max(...lengths)}`);
  const scorer = new LlamaScorer(l.model, { maxLength: Math.max(...lengths) });
  const series: PplSeries[] = [];
  const out: Record<string, unknown> = { model: str(v, "model"), data, lengths, stride };
  // a token file is read as is; text is tokenised like the training data (anchors included), or
  // with --plain-text as a token file would be (no <AC> inserted)
  const plainText = v["plain-text"] === true;
  const ids = /\.(bin|u16)$/.test(data)
    ? (await loadEvalTokens(data, undefined, { vocabSize: l.model.config.vocabSize })).ids
    : (
        await documentTokens(
          data,
          l.tokenizer,
          plainText ? resolveAnchors(l.tokenizer, { mode: "none" }) : l.anchors,
          (maxWindows || 64) * stride + Math.max(...lengths) + stride,
        )
      ).ids;
  out.tokens = ids.length;
  // anchor perplexity where no anchor occurs in the data is full perplexity in disguise: an AC
  // model on a token file (which has no <AC>) is scored, as in the paper, on a derived stream with
  // <AC> after every sentence (original tokens' predictions only); otherwise the report says so
  const plainIds = /\.(bin|u16)$/.test(data) || plainText; // no <AC> in the ids
  out.plainText = plainText;
  let anchorStream: AnchorStream | null = null;
  if (which !== "full") {
    const anchorSet = new Set(l.anchors.ids);
    let anchorsInData = 0;
    for (const id of ids) if (anchorSet.has(id)) anchorsInData++;
    out.anchorsInData = anchorsInData;
    if (anchorsInData === 0 && l.anchorMode === "ac" && plainIds) {
      anchorStream = deriveAnchorStream(ids, {
        anchorId: l.anchors.ids[0]!,
        bosId: l.tokenizer.bosId,
        specialIds: [l.tokenizer.bosId, l.tokenizer.eosId],
        idToPiece: (id) => l.tokenizer.idToPiece(id),
        decode: (d) => l.tokenizer.decode(d),
        splitSentences: (text) => splitSentences(text, { lineBreaks: l.anchors.lineBreaks }),
      });
      out.anchorStream = {
        recipe:
          "split at BOS into documents; decode each; split sentences with the loader's splitter; insert the anchor id after the token where each sentence ends (original ids unchanged); score only the original tokens' predictions",
        anchorId: l.anchors.ids[0],
        tokens: anchorStream.ids.length,
        documents: anchorStream.documents,
        inserted: anchorStream.inserted,
        unalignedDocuments: anchorStream.unaligned,
      };
      io.err(
        `anchor attention on ${data}: scored on a derived stream with <AC> after each sentence (${anchorStream.inserted} inserted in ${anchorStream.documents} documents; original tokens' predictions only)\n`,
      );
    }
    if (anchorsInData === 0 && (anchorStream?.inserted ?? 0) === 0) {
      const warning =
        `none of the model's anchor ids (${l.anchors.ids.join(",") || "none"}) occurs in ${data}: ` +
        "anchor attention sees no anchors there, so its perplexity equals full attention's";
      out.anchorWarning = warning;
      io.err(`warning: ${warning}\n`);
    }
  }
  const policyText = str(v, "policy");
  if (policyText !== undefined) {
    const policies = parsePolicies(c, policyText);
    const separators = separatorIds(l.tokenizer, policies);
    for (const p of policies) {
      const results = await evaluatePerplexity(scorer, ids, {
        lengths,
        stride,
        anchorIds: l.anchors.ids,
        separatorIds: separators,
        policy: p.policy,
        chunkSize: int(c, v, "chunk-size", 1)!,
        ...(maxWindows > 0 ? { maxWindows } : {}),
      });
      series.push({ label: `${p.spec} (through the cache)`, results });
      out[p.spec] = results;
    }
  }
  const kinds =
    policyText !== undefined
      ? []
      : which === "both"
        ? (["causal", "anchor"] as const)
        : [which === "full" ? ("causal" as const) : ("anchor" as const)];
  for (const attention of kinds) {
    const stream = attention === "anchor" && anchorStream ? anchorStream : null;
    const results = await evaluatePerplexity(scorer, stream ? stream.ids : ids, {
      lengths,
      stride,
      attention,
      anchorIds: l.anchors.ids,
      batchSize,
      ...(stream ? { targets: stream.targets } : {}),
      ...(maxWindows > 0 ? { maxWindows } : {}),
    });
    series.push({ label: `${attention === "causal" ? "full" : "anchor"} attention`, results });
    out[attention === "causal" ? "full" : "anchor"] = results;
  }
  l.model.dispose();
  return finish(
    c,
    io,
    v,
    out,
    async (dir) => [
      ...(await writeReport(dir, { perplexity: series, meta: { ...out } })),
      ...(anchorStream ? await writeAnchorStream(dir, anchorStream, out.anchorStream) : []),
    ],
    () =>
      out.anchorWarning
        ? `${pplMarkdownTable(series)}\n\nwarning: ${out.anchorWarning}`
        : pplMarkdownTable(series),
  );
}

/** The derived <AC> stream (uint16 ids) and its recipe, next to the report. */
async function writeAnchorStream(dir: string, s: AnchorStream, recipe: unknown): Promise<string[]> {
  const bin = join(dir, "ac-stream.bin");
  const json = join(dir, "ac-stream.json");
  await atomicWrite(bin, new Uint8Array(Uint16Array.from(s.ids).buffer));
  await atomicWrite(json, `${JSON.stringify(recipe, null, 2)}\n`);
  return [bin, json];
}

function parseTasks(c: string, v: Values): Partial<Record<TaskName, TaskSource>> {
  const raw = (v.task as string[] | undefined) ?? [];
  if (raw.length === 0) throw new UsageError(c, "--task NAME=FILE is required (at least one)");
  const tasks: Partial<Record<TaskName, TaskSource>> = {};
  for (const t of raw) {
    const [name, file] = t.split("=", 2) as [string, string | undefined];
    if (!(TASK_NAMES as readonly string[]).includes(name) || !file) {
      throw new UsageError(
        c,
        `--task expects NAME=FILE with NAME in ${TASK_NAMES.join("|")}, got "${t}"`,
      );
    }
    checkInputPath(c, `--task ${name}: file`, file, false);
    tasks[name as TaskName] = { eval: file };
  }
  // few-shot demonstrations: a task's training split, given per task or found in a folder
  for (const f of (v["fewshot-data"] as string[] | undefined) ?? []) {
    const eq = f.indexOf("=");
    const name = eq > 0 ? f.slice(0, eq) : "";
    if ((TASK_NAMES as readonly string[]).includes(name)) {
      const file = f.slice(eq + 1);
      checkInputPath(c, `--fewshot-data ${name}: file`, file, false);
      const task = tasks[name as TaskName];
      if (!task) throw new UsageError(c, `--fewshot-data names ${name}, which no --task scores`);
      task.train = file;
      continue;
    }
    checkInputPath(c, "--fewshot-data folder", f);
    for (const [name, task] of Object.entries(tasks) as [TaskName, TaskSource][]) {
      task.train ??= findFewshotFile(f, name);
    }
  }
  const shots = int(c, v, "shots", 0, 64)!;
  const missing = Object.entries(tasks).filter(([, t]) => !t?.train);
  if (shots > 0 && missing.length > 0) {
    throw new UsageError(
      c,
      `--shots ${shots} draws demonstrations from each task's training split (as lm-eval-harness), never from the scored file; none for ${missing.map(([n]) => n).join(", ")}: pass --fewshot-data NAME=FILE or a folder of the tasks' public releases (training files: ${missing.map(([n]) => FEWSHOT_FILES[n as TaskName].join("|")).join(", ")})`,
    );
  }
  return tasks;
}

async function qa({ values: v }: Parsed, io: Io): Promise<number> {
  const c = "eval qa";
  const tasks = parseTasks(c, v);
  const shots = int(c, v, "shots", 0, 64)!;
  const attention = choice(c, v, "attention", ["full", "anchor"] as const)!;
  const limit = int(c, v, "limit", 1);
  const chunkSize = int(c, v, "chunk-size", 1);
  const policyText = str(v, "policy");
  const policies = policyText !== undefined ? parsePolicies(c, policyText) : undefined;
  if (policies && policies.length > 1)
    throw new UsageError(c, `--policy takes one policy here, got ${policies.length}`);
  outDirOpt(c, v);
  const l = await openModel(c, v, io);
  const ac = l.anchorMode === "ac";
  const res = await runQaEval({
    scorer: new LlamaScorer(l.model),
    tokenizer: textTokenizerOf(l.tokenizer, ac ? ["<AC>"] : []),
    tasks,
    numFewshot: shots,
    attention,
    anchorIds: l.anchors.ids,
    measureSpeed: v["no-speed"] !== true,
    ...(policies?.[0]
      ? { policy: policies[0].policy, separatorIds: separatorIds(l.tokenizer, policies) }
      : {}),
    // AC models see <AC> after every sentence of the context and of each demonstration
    ...(ac ? { demoAnchorText: "<AC>", transformText: sentenceAnchorTransform("<AC>") } : {}),
    ...(limit ? { limit } : {}),
    ...(chunkSize ? { chunkSize } : {}),
    keepDocs: v["log-samples"] === true,
  });
  const out: Record<string, unknown> = {
    ...res,
    results: v["log-samples"] === true ? res.results : res.results.map(({ docs: _d, ...r }) => r),
  };
  l.model.dispose();
  // the label names the policy, so tables of several runs say which cache scored each
  const label = policies?.[0] ? `${str(v, "model")} (${policies[0].spec})` : str(v, "model")!;
  const rows = [{ label, result: res }];
  return finish(
    c,
    io,
    v,
    out,
    (dir) => writeReport(dir, { qa: rows }),
    () => qaMarkdownTable(rows),
  );
}

/** Texts of the documents at `path` (a .txt file is one text). */
async function textsOf(path: string, maxDocs = 50): Promise<string[]> {
  checkInputPath("eval cache", "--data", path);
  if (path.endsWith(".txt")) return [readFileSync(path, "utf8")];
  const out: string[] = [];
  for await (const d of readDocuments(path)) {
    out.push(d.text);
    if (out.length >= maxDocs) break;
  }
  return out;
}

async function cache({ values: v }: Parsed, io: Io): Promise<number> {
  const c = "eval cache";
  const promptLengths = lengthsOpt(c, v, "prompt-lengths");
  const maxNewTokens = int(c, v, "max-new-tokens", 1)!;
  const prompts = int(c, v, "prompts", 1, 64)!;
  const texts = await textsOf(str(v, "data") ?? defaultDatasetPath("heldout"));
  outDirOpt(c, v);
  const policyText = str(v, "policy");
  if (policyText !== undefined) return comparePolicies(c, v, io, policyText, texts);
  const l = await openModel(c, v, io);
  if (l.anchors.ids.length === 0) {
    l.model.dispose();
    throw new UsageError(c, "the cache experiment needs anchors (--anchor ep|ac)");
  }
  const longest = Math.max(...promptLengths) + maxNewTokens;
  checkPositions(c, v, io, l, longest, "--prompt-lengths + --max-new-tokens");
  const rows = await runCacheEval({
    scorer: new LlamaScorer(l.model, { maxLength: Math.max(...promptLengths) + maxNewTokens }),
    tokenizer: l.tokenizer,
    anchors: l.anchors,
    texts,
    promptLengths,
    promptsPerLength: prompts,
    maxNewTokens,
    bosId: l.tokenizer.bosId,
    skipNoCache: v["no-cache-baseline"] === true,
  });
  l.model.dispose();
  return finish(
    c,
    io,
    v,
    { model: str(v, "model"), rows },
    (dir) => writeReport(dir, { cache: rows }),
    () => cacheMarkdownTable(rows),
  );
}

/** `eval cache --policy a,b,...`: the policies side by side (evaluator's runPolicyBench). */
async function comparePolicies(
  c: string,
  v: Values,
  io: Io,
  policyText: string,
  texts: string[],
): Promise<number> {
  const policies = parsePolicies(c, policyText);
  const promptLengths = lengthsOpt(c, v, "prompt-lengths");
  const maxNewTokens = int(c, v, "max-new-tokens", 1)!;
  const chunkSize = int(c, v, "chunk-size", 1)!;
  const recallSeed = int(c, v, "recall-seed", 0)!;
  const distances = lengthsOpt(c, v, "distances");
  const l = await openModel(c, v, io);
  if (policies.some((p) => p.policy.kind === "anchor") && l.anchors.ids.length === 0) {
    l.model.dispose();
    throw new UsageError(c, "--policy anchor needs a model with anchors (--anchor ep|ac)");
  }
  const longest = Math.max(...promptLengths) + maxNewTokens;
  checkPositions(c, v, io, l, longest, "--prompt-lengths + --max-new-tokens");
  const encode = (t: string) => l.tokenizer.encodeContinuation(t);
  const ac = l.anchors.mode === "ac";
  const report = await runPolicyBench({
    scorer: new LlamaScorer(l.model, { maxLength: longest }),
    policies,
    sentences: tokenizeSentences(texts, l.tokenizer),
    // every key: a prefix of them fills the prompts (a seed's facts do not depend on the count)
    facts: recallFacts(recallSeed, RECALL_KEY_COUNT).map((f) => tokenizeFact(f, encode)),
    anchorIds: l.anchors.ids,
    separatorIds: separatorIds(l.tokenizer, policies),
    ...(ac ? { appendAnchorId: l.anchors.ids[0]! } : {}),
    bosId: l.tokenizer.bosId,
    promptLengths,
    distances,
    maxNewTokens,
    chunkSize,
    skipNoCache: v["no-cache-baseline"] === true,
    onProgress: (what) => io.err(`eval cache: ${what}\n`),
  });
  l.model.dispose();
  const out = {
    model: str(v, "model"),
    anchor: { mode: l.anchors.mode, ids: l.anchors.ids },
    policies: policies.map((p) => p.spec),
    recallSeed,
    ...report,
  };
  return finish(
    c,
    io,
    v,
    out,
    async (dir) => {
      const json = join(dir, "policies.json");
      const md = join(dir, "policies.md");
      await atomicWrite(json, `${JSON.stringify(out, null, 2)}\n`);
      await atomicWrite(md, `${policyMarkdownTables(report)}\n`);
      return [json, md];
    },
    () => policyMarkdownTables(report),
  );
}

export const evalCommand: CommandGroup = {
  usage: "anllm eval <ppl|qa|cache|passkey> --model DIR [options]",
  subcommands: [
    {
      name: "ppl",
      summary: "perplexity (full and anchor attention), LongLoRA windows",
      command: {
        usage:
          "anllm eval ppl --model DIR [--data PATH] [--lengths 256,512] [--attention full|anchor|both]",
        about: "Perplexity with the LongLoRA protocol (docs: guide/method.md §Evaluation).",
        options: PPL_OPTIONS,
        run: ppl,
      },
    },
    {
      name: "qa",
      summary: "multiple-choice QA (OBQA, WinoGrande, ARC, PIQA, HellaSwag, SciQ, BoolQ)",
      command: {
        usage:
          "anllm eval qa --model DIR --task arc_easy=FILE [--task ...] [--shots N --fewshot-data NAME=FILE|DIR] [--attention full|anchor]",
        about: "Multiple-choice QA, lm-eval-harness scoring (docs: guide/method.md §Evaluation).",
        options: QA_OPTIONS,
        run: qa,
      },
    },
    {
      name: "cache",
      summary: "K/V cache reduction and speed-up on long prompts",
      command: {
        usage:
          "anllm eval cache --model DIR [--prompt-lengths 256,512] [--max-new-tokens N] [--policy anchor,sink,sepllm,h2o,full]",
        about:
          "K/V cache reduction C and speed-up T on long many-sentence prompts (docs: guide/method.md §Evaluation).",
        options: CACHE_OPTIONS,
        run: cache,
      },
    },
    {
      name: "passkey",
      summary:
        "passkey retrieval (a number hidden in filler text) by length and depth, per cache policy",
      command: {
        usage:
          "anllm eval passkey --model DIR [--policy full,sink,...] [--lengths 1024,2048] [--depths 0,0.5,1] [--trials N]",
        about:
          "The LongLoRA/Landmark passkey prompt: greedy exact match of a 5-digit number hidden at each depth, for real checkpoints.",
        options: PASSKEY_OPTIONS,
        run: passkey,
      },
    },
  ],
};
