// Child process of examples.test.ts: imports each example file given on the command line, one after
// the other, and reports one JSON line per example on file descriptor 3 (stdout stays the examples').
import { writeSync } from "node:fs";
import { pathToFileURL } from "node:url";

for (const file of process.argv.slice(2)) {
  const t0 = performance.now();
  let error: string | undefined;
  try {
    await import(pathToFileURL(file).href);
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
  }
  const ms = performance.now() - t0;
  writeSync(3, `${JSON.stringify({ file, ok: error === undefined, ms, error })}\n`);
}
// Examples may leave a GPU runtime or timers behind; the results are all written.
process.exit(0);
