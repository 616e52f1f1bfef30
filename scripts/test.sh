#!/usr/bin/env bash
# The test command (npm test): type check, lint, unit tests, the module build, then the
# integration tests on a real control plane (built from Go modules on first use, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

if [[ ! -d node_modules ]]; then step "npm install (fresh clone)"; npm install --no-audit --no-fund; fi

step "type check"
npx tsc -p tsconfig.json --noEmit
step "lint"
npx eslint --max-warnings=0 .
step "control plane binaries"
bash scripts/build-harness.sh >/dev/null
step "tests"
npx vitest run "$@"
