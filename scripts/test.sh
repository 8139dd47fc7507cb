#!/usr/bin/env bash
# README command 2: set up a fresh machine (Mesa lavapipe, pnpm, chromium: see setup-system.sh),
# install the locked dependencies, then run lint, typecheck, build and the full test suite,
# ending with "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
pnpm install --frozen-lockfile
node scripts/run-tests.mjs
