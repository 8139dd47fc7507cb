// Reading weight files by byte range, shared by the safetensors and torch.save readers: only
// regular files are opened (opening a FIFO would block until a writer appears), and a short read
// is an error of the caller's kind naming the byte where the file ended.
import { type FileHandle, open, stat } from "node:fs/promises";

/** Makes the caller's error for `detail` (e.g. a SafetensorsError naming the file). */
export type FileError = (detail: string) => Error;

/** Opens `path` for reading if it is a regular file; `fail` describes every refusal. */
export async function openRegularFile(path: string, fail: FileError): Promise<FileHandle> {
  let regular: boolean;
  try {
    regular = (await stat(path)).isFile();
  } catch (e) {
    throw fail(`cannot open (${(e as Error).message})`);
  }
  if (!regular) throw fail("is not a regular file (a folder, FIFO or device)");
  try {
    return await open(path, "r");
  } catch (e) {
    throw fail(`cannot open (${(e as Error).message})`);
  }
}

/** Exactly `len` bytes from byte `pos`; a file that ends first is `fail`'s error. */
export async function readExactly(
  fh: FileHandle,
  len: number,
  pos: number,
  fail: FileError,
): Promise<Uint8Array<ArrayBuffer>> {
  const buf = new Uint8Array(new ArrayBuffer(len));
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
    if (bytesRead === 0)
      throw fail(
        `unexpected end of file at byte ${pos + done} (needed ${len} bytes from ${pos}; truncated file?)`,
      );
    done += bytesRead;
  }
  return buf;
}
