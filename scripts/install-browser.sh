#!/usr/bin/env bash
# Debian's Chromium, for the browser view's tests (driven headless by playwright-core; no
# browser is downloaded from anywhere else).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
echo "installing chromium from Debian" >&2
apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
