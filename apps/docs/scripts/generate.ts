// Build-time generation for the docs site, run before `vitepress build`: the API reference
// (typedoc), the CLI reference (the CLI's own --help text), the GPU guide's memory table and the
// corpus slice of the browser page's in-tab training.
import { join } from "node:path";
import { generateApi } from "./gen-api";
import { generateCliReference } from "./gen-cli";
import { generateCorpusSlice } from "./gen-corpus-slice";
import { generateMemoryTable } from "./gen-memory";

const docsRoot = new URL("..", import.meta.url).pathname;
const repoRoot = join(docsRoot, "..", "..");

const t0 = Date.now();
await generateApi(repoRoot, docsRoot);
await generateCliReference(repoRoot, docsRoot);
generateMemoryTable(docsRoot);
await generateCorpusSlice(docsRoot);
console.log(`docs generate: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
// The CLI modules may hold handles (e.g. a GPU runtime); nothing else is pending here.
process.exit(0);
