// Dataset layouts: RedPajama-1T-Sample folder (glob *_sample.jsonl), full-1T mirror folder (subset
// directories, optional urls.txt), RedPajama-V2 documents, a single file or a list of files.
import { existsSync, readFileSync, type Stats, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { DatasetError } from "./errors";
import type { FileInfo } from "./records";

/** How a dataset is laid out on disk. */
export type DatasetLayout = "sample" | "mirror" | "v2" | "files";

/** What the loader reads: a folder, a file, a list of files, or an explicit layout. */
export type DatasetSource =
  | string
  | string[]
  | { layout?: DatasetLayout; path: string | string[]; urlsFile?: string; allowMissing?: boolean };

/** The files of a dataset, in the deterministic reading order. */
export interface ResolvedDataset {
  layout: DatasetLayout;
  root: string;
  files: FileInfo[];
}

/** The subsets of RedPajama-Data-1T (directory names of a mirror). */
export const RP1T_SUBSETS = [
  "arxiv",
  "book",
  "c4",
  "common_crawl",
  "github",
  "stackexchange",
  "wikipedia",
] as const;

const SAMPLE_RE = /^(.+)_sample\.jsonl(\.gz|\.zst|\.zstd)?$/;
const DATA_RE = /\.(jsonl|json)(\.(gz|zst|zstd))?$/i;
const V2_RE = /^([^/]+)\/([^/]+)\/([a-z]+)_([a-z_]+)\.json\.gz$/;

function toPosix(p: string): string {
  return sep === "/" ? p : p.split(sep).join("/");
}

/** Code-unit order (the loading scripts' order), not locale order. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Subset (and dump) of a file, from its path only. */
export function describeFile(path: string, root: string): FileInfo {
  const abs = resolve(path);
  const relPath = toPosix(relative(root, abs)) || basename(abs);
  const info: FileInfo = { path: abs, relPath, subset: "" };
  const sample = SAMPLE_RE.exec(basename(abs));
  const segs = toPosix(abs).split("/");
  const docIdx = segs.lastIndexOf("documents");
  const v2 = docIdx >= 0 ? V2_RE.exec(segs.slice(docIdx + 1).join("/")) : null;
  if (v2) {
    const [, snapshot, shard, language, partition] = v2 as unknown as string[];
    const tag = `${snapshot}/${shard}/${language}_${partition}`;
    info.subset = "redpajama_v2";
    info.v2 = {
      snapshot: snapshot!,
      shard: shard!,
      language: language!,
      partition: partition!,
      tag,
    };
  } else if (sample) {
    const prefix = sample[1]!;
    const cc = /^cc_(.+)$/.exec(prefix);
    if (cc) {
      info.subset = "common_crawl";
      info.dump = cc[1]!;
    } else info.subset = prefix;
  } else {
    const relSegs = relPath.split("/");
    const candidates = relSegs.length > 1 ? relSegs : segs;
    const i = candidates.findIndex((s) => (RP1T_SUBSETS as readonly string[]).includes(s));
    if (i >= 0 && i < candidates.length - 1) {
      info.subset = candidates[i]!;
      if (info.subset === "common_crawl" && i + 2 < candidates.length)
        info.dump = candidates[i + 1]!;
    }
  }
  return info;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const parent = (e as unknown as { parentPath?: string; path?: string }).parentPath ?? e.path;
    out.push(join(parent, e.name));
  }
  return out;
}

function readUrls(urlsFile: string, root: string, allowMissing: boolean): string[] {
  const lines = readFileSync(urlsFile, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const paths = lines.map((l) => {
    const i = l.indexOf("/v1.0.0/");
    return resolve(root, i >= 0 ? l.slice(i + "/v1.0.0/".length) : l);
  });
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0 && !allowMissing) {
    throw new DatasetError(
      `${urlsFile}: ${missing.length} of ${paths.length} listed files are missing under ${root}` +
        ` (first: ${missing[0]}); pass allowMissing: true to read the rest`,
    );
  }
  const present = paths.filter((p) => existsSync(p));
  for (const p of present) checkReadable(p);
  return present;
}

async function resolveDir(
  root: string,
  layout: DatasetLayout | undefined,
  urlsFile: string | undefined,
  allowMissing: boolean,
): Promise<ResolvedDataset> {
  const top = await readdir(root, { withFileTypes: true });
  const names = top.map((e) => e.name);
  const isSample = names.some((n) => SAMPLE_RE.test(n));
  const hasSubsetDirs = top.some((e) => e.isDirectory() && RP1T_SUBSETS.includes(e.name as never));
  const urls = urlsFile ?? (names.includes("urls.txt") ? join(root, "urls.txt") : undefined);
  const kind: DatasetLayout =
    layout ??
    (isSample
      ? "sample"
      : names.includes("documents")
        ? "v2"
        : urls !== undefined || hasSubsetDirs
          ? "mirror"
          : "files");
  let paths: string[];
  if (kind === "sample") {
    paths = names.filter((n) => SAMPLE_RE.test(n)).map((n) => join(root, n));
    paths.sort((a, b) => byCodeUnits(basename(a), basename(b)));
  } else if (kind === "mirror" && urls !== undefined) {
    paths = readUrls(urls, root, allowMissing);
  } else {
    const base = kind === "v2" ? join(root, "documents") : root;
    paths = (await walk(base)).filter((p) =>
      kind === "v2" ? p.endsWith(".json.gz") : DATA_RE.test(p),
    );
    paths.sort((a, b) => byCodeUnits(toPosix(relative(root, a)), toPosix(relative(root, b))));
  }
  if (paths.length === 0) throw new DatasetError(`${root}: no data files found (layout ${kind})`);
  return { layout: kind, root, files: paths.map((p) => describeFile(p, root)) };
}

/**
 * Resolves a dataset source to its files in a deterministic order: a Sample folder (files matching
 * `*_sample.jsonl[.gz|.zst]`, code-unit order), a 1T mirror (urls.txt order when present, else
 * sorted walk), V2 (`documents/**.json.gz`), or plain files. Throws {@link DatasetError}.
 */
export async function resolveDataset(source: DatasetSource): Promise<ResolvedDataset> {
  const spec = typeof source === "string" || Array.isArray(source) ? { path: source } : source;
  const list = Array.isArray(spec.path) ? spec.path : [spec.path];
  if (list.length === 0) throw new DatasetError("empty list of dataset paths");
  for (const p of list) if (!existsSync(p)) throw new DatasetError(`${p}: no such file or folder`);
  for (const p of list) checkReadable(p);
  if (list.length === 1 && statSync(list[0]!).isDirectory()) {
    const root = resolve(list[0]!);
    return resolveDir(root, spec.layout, spec.urlsFile, spec.allowMissing ?? false);
  }
  const abs = list.map((p) => resolve(p));
  for (const p of abs)
    if (statSync(p).isDirectory()) throw new DatasetError(`${p}: a folder in a file list`);
  const root = abs.length === 1 ? dirname(abs[0]!) : commonDir(abs);
  return { layout: "files", root, files: abs.map((p) => describeFile(p, root)) };
}

/** What a path is, in words, when it is neither a regular file nor a folder. */
function specialKind(st: Stats): string | null {
  if (st.isFile() || st.isDirectory()) return null;
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * Refuses a path that is neither a regular file nor a folder: reading a FIFO, socket or device
 * would block forever (or never end), so it is an error, not data.
 */
function checkReadable(p: string): void {
  const kind = specialKind(statSync(p));
  if (kind) {
    throw new DatasetError(`${p} is ${kind}; a data path must be a regular file or a folder`);
  }
}

function commonDir(paths: string[]): string {
  let parts = toPosix(dirname(paths[0]!)).split("/");
  for (const p of paths.slice(1)) {
    const q = toPosix(dirname(p)).split("/");
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join("/") || "/";
}
