#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok, kubectl) from tools/k8s-harness into a cache outside the repo,
# keyed by a hash of its inputs, and prints the bin directory. A warm run only hashes.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$self")/../tools/k8s-harness"

# The Go settings every test tool is built with (the node's kubelet reuses this build's cache).
source "$(dirname "$self")/go-tool-cache.sh"
KUBE_VERSION=v1.37.2

key=$( { go version; echo "$KUBE_VERSION"; cat go.mod go.sum ./*.go "$self"; } | sha256sum | cut -c1-16)

build() {
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
    -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.gitCommit=none \
    -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  go build -ldflags "$ldflags" -o "$out/k8s-harness" . || return
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
    ln -sf k8s-harness "$out/$name" || return
  done
}
cached_build k8s-harness "$key" k8s-harness build
