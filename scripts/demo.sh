#!/usr/bin/env bash
# README command 1: set up a fresh machine (see setup-system.sh), install the locked dependencies,
# then run the main job on the embedded defaults: `anllm demo`, the paper's experiment at small
# scale (continue pre-training the shipped full-attention base, apps/cli/models/base-small, with the
# AnLLM-AC anchor mask; compare base and AnLLM-AC: perplexity at several context lengths, anchor
# perplexity, K/V cache reduction and speed-ups, a sample from each; print a summary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
pnpm install --frozen-lockfile
pnpm anllm demo "$@"
