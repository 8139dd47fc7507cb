#!/usr/bin/env node
// The `anllm` binary: runs the CLI on the process's arguments and exits with its code.

import { run } from "./run";

const code = await run(process.argv.slice(2));
process.exit(code);
