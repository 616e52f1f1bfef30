#!/usr/bin/env bash
# Builds gate-clients (the real Flagger and Argo Rollouts client code, see
# tools/gate-clients) into a cache outside the repo, keyed by a hash of its inputs,
# and prints the bin directory. A warm run only hashes.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$self")/../tools/gate-clients"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
CACHE_ROOT="${STAGESET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stageset}"

key=$( { go version; cat go.mod go.sum ./*.go "$self"; } | sha256sum | cut -c1-16)
bin="$CACHE_ROOT/gate-clients/$key/bin"

if [[ ! -x "$bin/gate-clients" ]]; then
  echo "building gate-clients into $bin" >&2
  tmp="$bin.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  start=$SECONDS
  go build -ldflags "-s -w" -o "$tmp/gate-clients" .
  rm -rf "$bin" && mv "$tmp" "$bin"
  echo "built in $((SECONDS - start))s" >&2
fi
echo "$bin"
