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
step "test tools: control plane, Flagger and Argo clients, Helm, Prometheus, Chromium (cached after the first run)"
bash scripts/build-harness.sh >/dev/null
bash scripts/build-gate-clients.sh >/dev/null
bash scripts/build-helm.sh >/dev/null
bash scripts/fetch-prometheus.sh >/dev/null
bash scripts/install-browser.sh >/dev/null
step "tests"
reports="$(mktemp -d)"
status=0
run() { npx vitest run --reporter=default --reporter=json --outputFile.json="$reports/$1.json" "${@:2}" || status=$?; }
if (($#)); then
  run all "$@"
else
  run main --project unit --project integration
  # Alone, after the rest: the newcomer's path is timed on a machine doing nothing else.
  step "tests: a newcomer's first run (fresh clone, npm start)"
  run newcomer --project newcomer
  # Real nodes and the product installed on them (npm run e2e): one node cluster at a time.
  step "tests: end to end on real nodes (npm run e2e)"
  bash scripts/build-node-tools.sh >/dev/null
  run e2e --project e2e --no-file-parallelism
fi
# A plain closing line that any CI reader understands.
node -e 'let p=0,f=0,s=0;for(const file of process.argv.slice(1)){const r=JSON.parse(require("fs").readFileSync(file,"utf8"));p+=r.numPassedTests;f+=r.numFailedTests;s+=r.numPendingTests+r.numTodoTests}console.log(`${p} passed, ${f} failed, ${s} skipped`)' "$reports"/*.json || true
rm -rf "$reports"
exit "$status"
