#!/usr/bin/env bash
# npm start: installs dependencies if this clone has none yet, then runs scripts/run.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d node_modules ]] || npm install --no-audit --no-fund
exec node --import tsx scripts/run.ts "$@"
