// The kubelet of one node: its KubeletConfiguration and command line. It listens only on
// the node's address and its own loopback, trusts the control plane's client CA, and keeps
// its cgroups under the node's own root.
import { join } from "node:path";
import { clusterDNS } from "./addresses";
import { containerdSocket } from "./containerd";

export interface KubeletSpec {
  name: string;
  dir: string;
  ip: string;
  cgroupRoot: string;
  clientCA: string;
  kubeconfig: string;
}

export function kubeletArgs(s: KubeletSpec, bin: string): string[] {
  return [
    join(bin, "kubelet"),
    `--config=${join(s.dir, "kubelet.yaml")}`,
    `--kubeconfig=${s.kubeconfig}`,
    `--root-dir=${join(s.dir, "kubelet")}`,
    `--hostname-override=${s.name}`,
    `--node-ip=${s.ip}`,
    `--volume-plugin-dir=${join(s.dir, "volume-plugins")}`,
    "--node-labels=stageset.dev/real-node=true",
    "--v=2",
  ];
}

export function kubeletConfig(s: KubeletSpec): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false # this machine has cgroup v1 only; v1.37 still runs there when told so
cgroupDriver: cgroupfs
cgroupsPerQOS: true
cgroupRoot: /${s.cgroupRoot}
failSwapOn: false
protectKernelDefaults: false
oomScoreAdj: 0 # a negative one needs CAP_SYS_RESOURCE, which this machine's root lacks
address: ${s.ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: ${JSON.stringify(s.clientCA)} }
authorization: { mode: AlwaysAllow }
clusterDomain: cluster.local
clusterDNS: [${clusterDNS}]
resolvConf: ${JSON.stringify(join(s.dir, "resolv.conf"))} # empty: nothing resolves outside the cluster
containerRuntimeEndpoint: unix://${containerdSocket}
podLogsDir: /var/log/pods
staticPodPath: ""
rotateCertificates: false
serverTLSBootstrap: false
serializeImagePulls: false
# Images are imported, never pulled: garbage collection must not remove them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
maxPods: 60
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 10s
`;
}
