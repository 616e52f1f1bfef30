#!/usr/bin/env bash
# npm run build: a clean dist/ (Pepr does not clean its chart folder), Pepr's build, then
# what Pepr does not generate (scripts/post-build.ts). Extra arguments go to `pepr build`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx pepr build "$@"
node --import tsx scripts/post-build.ts
