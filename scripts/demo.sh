#!/usr/bin/env bash
# README command 1: set up a fresh machine (see setup-system.sh), install the locked dependencies,
# then run the main job on the embedded defaults: `anllm demo` (train a small Llama-2 with the
# anchor mask, evaluate perplexity, generate with the anchor KV cache, print a summary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
pnpm install --frozen-lockfile
pnpm anllm demo "$@"
