#!/usr/bin/env bash
# Builds the Helm CLI the tests render the chart with, from the Go module proxy, into a cache
# outside the repo keyed by its version, and prints the bin directory. A warm run only checks
# that the binary is there.
set -euo pipefail
source "$(dirname "$0")/go-tool-cache.sh"
HELM_VERSION=v3.22.0

build() { GOBIN="$out" go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; }
cached_build helm "$HELM_VERSION" helm build
