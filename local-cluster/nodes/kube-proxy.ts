// kube-proxy of one node, in iptables mode inside the node's network namespace. Its
// metrics and health endpoints stay on the node's loopback; NodePorts only on the bridge.
import { join } from "node:path";
import { bridgeCIDR, clusterCIDR } from "./addresses";

export function kubeProxyArgs(dir: string, bin: string): string[] {
  return [join(bin, "kube-proxy"), `--config=${join(dir, "kube-proxy.yaml")}`, "--v=2"];
}

export function kubeProxyConfig(kubeconfig: string, name: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: ${JSON.stringify(kubeconfig)} }
hostnameOverride: ${name}
mode: iptables
oomScoreAdj: 0
clusterCIDR: ${clusterCIDR}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
nodePortAddresses: [${bridgeCIDR}]
# Zero: leave the conntrack sysctls as they are (they are not all per namespace).
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
iptables: { localhostNodePorts: false, syncPeriod: 30s, minSyncPeriod: 0s }
`;
}
