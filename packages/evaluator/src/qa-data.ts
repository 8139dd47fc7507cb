// Readers for the QA tasks' public files: JSON-Lines (most tasks), a JSON array (SciQ) and the
// line-aligned `*-labels.lst` files of PIQA and WinoGrande. Errors name file, line and field.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DataFormatError } from "./errors";
import { FieldError, parseDoc, type QaDoc, type TaskName } from "./qa-tasks";

/**
 * The training-split file of each task under the name its public release uses: where the
 * harness (pre-0.4) draws few-shot demonstrations from. All eight tasks have a training split, so
 * demonstrations never come from the scored split. PIQA and WinoGrande labels sit next to them
 * (`train-labels.lst`, `train_xl-labels.lst`); WinoGrande's harness configuration is `winogrande_xl`.
 */
export const FEWSHOT_FILES: Record<TaskName, readonly string[]> = {
  openbookqa: ["train.jsonl"],
  winogrande: ["train_xl.jsonl"],
  arc_easy: ["ARC-Easy-Train.jsonl"],
  arc_challenge: ["ARC-Challenge-Train.jsonl"],
  piqa: ["train.jsonl"],
  hellaswag: ["hellaswag_train.jsonl"],
  sciq: ["train.json"],
  boolq: ["train.jsonl"],
};

/** Folders (inside a few-shot data folder) where a task's files may sit. */
const TASK_DIRS: Record<TaskName, readonly string[]> = {
  openbookqa: ["openbookqa", "OpenBookQA-V1-Sep2018/Data/Main"],
  winogrande: ["winogrande", "winogrande_1.1"],
  arc_easy: ["arc_easy", "arc", "ARC-V1-Feb2018-2/ARC-Easy"],
  arc_challenge: ["arc_challenge", "arc", "ARC-V1-Feb2018-2/ARC-Challenge"],
  piqa: ["piqa"],
  hellaswag: ["hellaswag"],
  sciq: ["sciq", "SciQ dataset-2 3"],
  boolq: ["boolq", "BoolQ"],
};

/**
 * The training file of `task` inside a folder of the tasks' public releases: `<dir>/<file>` or
 * `<dir>/<task folder>/<file>` with the names of {@link FEWSHOT_FILES}; undefined when absent.
 */
export function findFewshotFile(dir: string, task: TaskName): string | undefined {
  for (const sub of ["", ...TASK_DIRS[task]]) {
    for (const f of FEWSHOT_FILES[task]) {
      const p = join(dir, sub, f);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

/** Where a task's documents come from. */
export interface TaskSource {
  /** File scored (dev/test split): .jsonl, or .json array for SciQ. */
  eval: string;
  /**
   * Training-split file the few-shot demonstrations are drawn from (required for k > 0 by
   * runQaEval: the harness never draws them from the scored split for these tasks).
   */
  train?: string;
  /** Labels file for `eval` (PIQA/WinoGrande); default: `<eval without .jsonl>-labels.lst` if present. */
  evalLabels?: string;
  trainLabels?: string;
}

/** Loaded documents of one task. */
export interface TaskData {
  task: TaskName;
  docs: QaDoc[];
  trainDocs?: QaDoc[];
}

async function readRecords(path: string): Promise<{ rec: unknown; line: number }[]> {
  const text = await readFile(path, "utf8");
  if (path.endsWith(".json")) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (err) {
      throw new DataFormatError(path, null, null, `invalid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(arr))
      throw new DataFormatError(path, null, null, "expected a JSON array of records");
    return arr.map((rec, i) => ({ rec, line: i + 1 }));
  }
  const out: { rec: unknown; line: number }[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    if (l.trim() === "") return;
    try {
      out.push({ rec: JSON.parse(l), line: i + 1 });
    } catch (err) {
      throw new DataFormatError(path, i + 1, null, `invalid JSON: ${(err as Error).message}`);
    }
  });
  return out;
}

async function readLabels(path: string): Promise<string[]> {
  const lines = (await readFile(path, "utf8")).split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
  return lines.map((l) => l.trim());
}

function defaultLabelsPath(task: TaskName, path: string): string | undefined {
  if (task !== "piqa" && task !== "winogrande") return undefined;
  const p = `${path.replace(/\.jsonl$/, "")}-labels.lst`;
  return existsSync(p) ? p : undefined;
}

/** Reads and parses one file of `task`; `labelsPath` supplies line-aligned labels. */
export async function readTaskFile(
  task: TaskName,
  path: string,
  labelsPath?: string,
): Promise<QaDoc[]> {
  const records = await readRecords(path);
  const lp = labelsPath ?? defaultLabelsPath(task, path);
  const labels = lp ? await readLabels(lp) : undefined;
  if (labels && labels.length !== records.length) {
    throw new DataFormatError(
      lp!,
      null,
      null,
      `${labels.length} labels for ${records.length} records in ${path}`,
    );
  }
  return records.map(({ rec, line }, i) => {
    try {
      return parseDoc(task, rec, i, labels?.[i]);
    } catch (err) {
      if (err instanceof FieldError) {
        const where = labels && err.field === "label" ? lp! : path;
        throw new DataFormatError(where, line, err.field, err.message);
      }
      throw err;
    }
  });
}

/** Loads a task's eval documents and, if given, its training documents. */
export async function loadTask(task: TaskName, source: TaskSource): Promise<TaskData> {
  const docs = await readTaskFile(task, source.eval, source.evalLabels);
  const trainDocs = source.train
    ? await readTaskFile(task, source.train, source.trainLabels)
    : undefined;
  return { task, docs, ...(trainDocs ? { trainDocs } : {}) };
}
