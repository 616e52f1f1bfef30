#!/usr/bin/env bash
# Builds what a real test node runs, into caches outside the repo, and prints one bin
# directory holding all of it (the last line, which the tests read):
#   kubelet, kube-proxy        tools/k8s-node/kube (the same Kubernetes release as the harness)
#   containerd, ctr, containerd-shim-runc-v2
#   bridge, host-local, loopback, portmap (CNI plugins)
#   k8s-node-agent             tools/k8s-node/agent: cluster DNS (CoreDNS with the plugins a
#                              test cluster needs), the NetworkPolicy agent, the OCI image
#                              builder and the node reaper
#   pause, echo-server         static binaries that go into locally built images
# runc comes from Debian and is installed when missing, as are iptables, nftables and conntrack.
# Each part is cached on its own key, so changing the agent does not relink the kubelet.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
root="$(cd "$(dirname "$self")/.." && pwd)"
source "$root/scripts/go-tool-cache.sh"

KUBE_VERSION=v1.37.2
CONTAINERD_VERSION=v2.2.9
CNI_PLUGINS_VERSION=v1.9.1
GOFLAGS_P="${STAGESET_GO_P:-1}" # parallel compiles; the machine is small and shared

missing=()
for tool in runc iptables nft conntrack; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})) && [[ -z ${STAGESET_GO_FETCH_ONLY:-} ]]; then
  echo "installing ${missing[*]} from Debian" >&2
  pkgs=("${missing[@]/nft/nftables}")
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >&2
fi

src_key() { { go version; cat "$self"; cat "$@"; } | sha256sum | cut -c1-16; }

# kubelet and kube-proxy
build_kube() {
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
    -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.gitCommit=none \
    -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  (cd "$root/tools/k8s-node/kube" && go build -p "$GOFLAGS_P" -ldflags "$ldflags" -o "$out/k8s-node-kube" .) &&
    ln -sf k8s-node-kube "$out/kubelet" && ln -sf k8s-node-kube "$out/kube-proxy"
}
kube_bin=$(cached_build k8s-node-kube "$(src_key "$root"/tools/k8s-node/kube/{go.mod,go.sum,main.go})" kubelet build_kube | tail -1)

# containerd, its runc shim and ctr (image import); no cgo, so no btrfs; no snapshotters we do not use
build_containerd() {
  local mod=github.com/containerd/containerd/v2
  GOBIN="$out" go install -p "$GOFLAGS_P" -tags "no_btrfs no_devmapper no_zfs no_tracing" \
    -ldflags "-s -w -X $mod/version.Version=$CONTAINERD_VERSION" \
    "$mod/cmd/containerd@$CONTAINERD_VERSION" "$mod/cmd/ctr@$CONTAINERD_VERSION" \
    "$mod/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
}
containerd_bin=$(cached_build containerd "$CONTAINERD_VERSION" containerd-shim-runc-v2 build_containerd | tail -1)

# CNI plugins
build_cni() {
  local mod=github.com/containernetworking/plugins
  GOBIN="$out" go install -p "$GOFLAGS_P" -ldflags "-s -w" \
    "$mod/plugins/main/bridge@$CNI_PLUGINS_VERSION" "$mod/plugins/ipam/host-local@$CNI_PLUGINS_VERSION" \
    "$mod/plugins/main/loopback@$CNI_PLUGINS_VERSION" "$mod/plugins/meta/portmap@$CNI_PLUGINS_VERSION"
}
cni_bin=$(cached_build cni-plugins "$CNI_PLUGINS_VERSION" portmap build_cni | tail -1)

# our own agent and the binaries that go into images
build_agent() {
  (cd "$root/tools/k8s-node/agent" &&
    go build -p "$GOFLAGS_P" -ldflags "-s -w" -o "$out/k8s-node-agent" . &&
    go build -p "$GOFLAGS_P" -ldflags "-s -w" -o "$out/pause" ./cmd/pause &&
    go build -p "$GOFLAGS_P" -ldflags "-s -w" -o "$out/echo-server" ./cmd/echo-server)
}
agent_files=$(cd "$root/tools/k8s-node/agent" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort)
agent_bin=$(cached_build k8s-node-agent "$(cd "$root/tools/k8s-node/agent" && src_key $agent_files)" k8s-node-agent build_agent | tail -1)

[[ -z ${STAGESET_GO_FETCH_ONLY:-} ]] || exit 0

# One directory of links, keyed by the four parts and runc.
runc=$(command -v runc)
key=$(echo "$kube_bin $containerd_bin $cni_bin $agent_bin $runc" | sha256sum | cut -c1-16)
bin="$CACHE_ROOT/k8s-node/$key/bin"
if [[ ! -L "$bin/runc" ]]; then
  tmp="$bin.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  for dir in "$kube_bin" "$containerd_bin" "$cni_bin" "$agent_bin"; do
    for f in "$dir"/*; do ln -sf "$f" "$tmp/$(basename "$f")"; done
  done
  ln -sf "$runc" "$tmp/runc"
  mv -T "$tmp" "$bin" 2>/dev/null || rm -rf "$tmp" # another process made the same links first
  [[ -L "$bin/runc" ]] || { echo "could not link the node tools into $bin" >&2; exit 1; }
fi
echo "$bin"
