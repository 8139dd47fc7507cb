#!/usr/bin/env bash
# Rebuilds the pre-trained base model shipped in apps/cli/models/base-small (what `anllm demo`
# continues to pre-train with the anchor mask): trains the `small` preset (Llama-2 architecture,
# byte tokenizer) with FULL causal attention on the embedded corpus with the project's own
# `anllm train --anchor none`, then packages the last checkpoint as HF safetensors with
# provenance.json (command, seed, commit, data checksums, held-out perplexity, a sample).
# About an hour on a 2-core CPU machine (lavapipe; 3611 s for the shipped base); minutes on a GPU.
#   bash scripts/build-base-model.sh [STEPS]     (default: the step count recorded in provenance.json)
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
DEST=apps/cli/models/base-small
STEPS="${1:-$(node -e "console.log(require('./$DEST/provenance.json').training.steps)")}"
RUN=runs/base-small
COMMIT="$(git rev-parse HEAD)"
# cosine decay to 0.1 x lr: the base ends at 3e-4, the learning rate the demo's continual
# pre-training keeps constant after its warm-up. --shuffle-block 8192 (more than the corpus's 4262
# documents) shuffles all documents together: the default 256-document blocks follow the file order,
# so the stream would start with ~3.9M tokens of books and the base would see no web or wiki text.
TRAIN=(train --model small --tokenizer bytes --anchor none --packing --seq-len 256 --batch-size 8
  --steps "$STEPS" --lr 3e-3 --schedule cosine --min-lr-ratio 0.1 --warmup 50 --seed 34
  --shuffle-block 8192 --checkpoint-every 200 --out "$RUN")
rm -rf "$RUN"
pnpm anllm "${TRAIN[@]}"
node --conditions=@anllm/source --import tsx apps/cli/scripts/package-base-model.ts \
  "$RUN" "$DEST" "$COMMIT" pnpm anllm "${TRAIN[@]}"
