#!/usr/bin/env bash
# Fetches Prometheus (Debian's package) for the conformance tests and prints the path of its
# binary. The package is unpacked into a cache, never installed: installing it would start a
# system service listening on all interfaces. Only libc is needed at run time.
set -euo pipefail
CACHE_ROOT="${STAGESET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stageset}"
dir="$CACHE_ROOT/prometheus"
bin="$dir/usr/bin/prometheus"

if [[ ! -x "$bin" ]]; then
  echo "fetching Debian's prometheus package into $dir" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && { apt-get download prometheus >&2 || { apt-get update -qq >&2 && apt-get download prometheus >&2; }; })
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  dpkg-deb -x "$tmp"/prometheus_*.deb "$dir.tmp"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$bin"
