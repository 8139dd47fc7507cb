// Test helpers: fixture paths and collecting documents/batches from the loader.
import { fileURLToPath } from "node:url";
import { BadInputReport, type DocRecord, readDocuments } from "../src/index";
import type { DatasetSource } from "../src/layouts";

/** Absolute path of a fixture under test/fixtures. */
export function fixture(...parts: string[]): string {
  return fileURLToPath(new URL(`./fixtures/${parts.join("/")}`, import.meta.url));
}

/** All documents of a source plus the bad-input report. */
export async function collect(
  source: DatasetSource,
  strict = false,
): Promise<{ docs: DocRecord[]; report: BadInputReport }> {
  const report = new BadInputReport(strict);
  const docs: DocRecord[] = [];
  for await (const d of readDocuments(source, { report })) docs.push(d);
  return { docs, report };
}
