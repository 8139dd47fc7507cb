// Crash-safe checkpoint folders: files are written into a temp folder, fsynced, and the folder is
// renamed into place, so a killed process leaves either the old checkpoint or the new one, never a
// half-written one under the final name. Single files are written with @anllm/tensor/io's
// atomicWrite; publishing a whole folder is a different operation and lives here.

import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { fsErrorText, OutputPathError } from "@anllm/tensor/io";

/** fsyncs a file or folder (folders so that a rename inside them is durable). */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a file (not atomically) and fsyncs it; for files inside a temp folder. */
export async function writeFileSynced(path: string, text: string): Promise<void> {
  try {
    const fh = await open(path, "w");
    try {
      await fh.writeFile(text, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw new OutputPathError(path, `cannot write: ${fsErrorText(e)}`, code);
  }
}

/** Replaces folder `dest` by the finished folder `tmp` (removing an older `dest` first). */
export async function publishDir(tmp: string, dest: string): Promise<void> {
  await fsyncPath(tmp);
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
  await fsyncPath(dirname(dest));
}
