// Paths the CLI reads and writes, checked before any work: inputs must be regular files or folders
// (a FIFO, socket or device would block a read forever), and output folders are created and
// probed for writing up front, so a long evaluation never ends on an unwritable --out.

import { existsSync, statSync } from "node:fs";
import { checkWritableDir, OutputPathError } from "@anllm/tensor/io";
import { UsageError } from "../errors";

/** What a path is, in words, when it is neither a regular file nor a folder (else null). */
function specialKind(path: string): string | null {
  const st = statSync(path);
  if (st.isFile() || st.isDirectory()) return null;
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * Checks an input path given as `flag` (e.g. "--data"): it must exist and be a regular file or a
 * folder (`folders: false`: a regular file only). Throws UsageError naming the flag and the path.
 */
export function checkInputPath(command: string, flag: string, path: string, folders = true): void {
  if (!existsSync(path)) throw new UsageError(command, `${flag} not found: ${path}`);
  const kind = specialKind(path);
  if (kind) {
    throw new UsageError(
      command,
      `${flag} ${path} is ${kind}; give a regular file${folders ? " or a folder" : ""}`,
    );
  }
  if (!folders && statSync(path).isDirectory()) {
    throw new UsageError(command, `${flag} ${path} is a folder; give a file`);
  }
}

/**
 * Creates output folder `dir` (given as `flag`) and checks that it takes a file, before any work;
 * throws UsageError naming the flag and the reason (read-only, a file in the way, /proc, ...).
 */
export function checkOutputDir(command: string, flag: string, dir: string): void {
  try {
    checkWritableDir(dir);
  } catch (e) {
    if (e instanceof OutputPathError) throw new UsageError(command, `${flag} ${e.message}`);
    throw e;
  }
}
