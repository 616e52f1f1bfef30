// containerd 2.x (with runc) for one node: its configuration, and a wait until it answers.
// Its root lives in the node's directory and its state under the node's private /run.
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { images } from "./images";
import type { NodeShell } from "./namespaces";
import { until } from "./run";

export const containerdSocket = "/run/containerd/containerd.sock";

export function containerdConfig(dir: string, bin: string): string {
  const q = JSON.stringify;
  return `version = 3
root = ${q(join(dir, "containerd"))}
state = "/run/containerd"
# Plugins a node never uses; opt would also write to /opt on the host.
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
]

[grpc]
  address = ${q(containerdSocket)}

# Needed by the transfer service and the CRI; pointed away from /opt/containerd.
[plugins."io.containerd.image-verifier.v1.bindir"]
  bin_dir = ${q(join(dir, "image-verifier"))}

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${q(images.pause)}

[plugins."io.containerd.cri.v1.runtime"]
  enable_cdi = false
  # This machine's root lacks CAP_SYS_RESOURCE, so nothing may lower oom_score_adj (the
  # kubelet asks -998 for sandboxes): keep each container's at least its parent's.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = ${q(join(bin, "runc"))}
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [${q(bin)}]
    conf_dir = ${q(join(dir, "cni/net.d"))}
`;
}

export async function waitForContainerd(name: string, dir: string, bin: string, containerd: ChildProcess, shell: NodeShell): Promise<void> {
  await until(() => {
    if (containerd.exitCode !== null) throw new Error(`node ${name}: containerd exited; see ${join(dir, "containerd.log")}`);
    try {
      shell.exec([join(bin, "ctr"), "--address", containerdSocket, "version"]);
      return true;
    } catch {
      return false;
    }
  }, 30_000, `node ${name} containerd`);
}
