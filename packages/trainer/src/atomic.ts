// Crash-safe file operations: write to a temp name, fsync, rename, fsync the folder. A killed
// process leaves either the old file/folder or the new one, never a half-written one under the
// final name.

import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** fsyncs a file or folder (folders so that a rename inside them is durable). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `text` to `path` atomically (temp file in the same folder, fsync, rename). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(text, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}

/** Writes a file (not atomically) and fsyncs it; for files inside a temp folder. */
export async function writeFileSynced(path: string, text: string): Promise<void> {
  const fh = await open(path, "w");
  try {
    await fh.writeFile(text, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces folder `dest` by the finished folder `tmp` (removing an older `dest` first). */
export async function publishDir(tmp: string, dest: string): Promise<void> {
  await fsyncPath(tmp);
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
  await fsyncPath(dirname(dest));
}
