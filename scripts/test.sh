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
step "test tools: control plane, Flagger and Argo clients, Prometheus (cached after the first run)"
bash scripts/build-harness.sh >/dev/null
bash scripts/build-gate-clients.sh >/dev/null
bash scripts/fetch-prometheus.sh >/dev/null
step "tests"
report="$(mktemp)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# A plain closing line that any CI reader understands.
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$report" || true
rm -f "$report"
exit "$status"
