#!/usr/bin/env bash
# Builds gate-clients (the real Flagger and Argo Rollouts client code, see
# tools/gate-clients) into a cache outside the repo, keyed by a hash of its inputs,
# and prints the bin directory. A warm run only hashes.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
source "$(dirname "$self")/go-tool-cache.sh"
cd "$(dirname "$self")/../tools/gate-clients"

key=$( { go version; cat go.mod go.sum ./*.go "$self"; } | sha256sum | cut -c1-16)
build() { go build -ldflags "-s -w" -o "$out/gate-clients" .; }
cached_build gate-clients "$key" gate-clients build
