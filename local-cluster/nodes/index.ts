// Real Kubernetes nodes on this machine, for end-to-end tests that run real pods: each node
// is a network namespace and a private mount namespace with its own containerd (runc),
// kubelet, kube-proxy (iptables mode) and NetworkPolicy agent, attached to a control plane
// started with startControlPlane({ nodeAddress }). See cluster.ts for the whole, node.ts
// for one node, and addresses.ts for the address plan.
export { bridgeAddress, clusterDNS } from "./addresses";
export { nodeBinDir, startNodeCluster, type NodeCluster, type NodeClusterOptions } from "./cluster";
export { images, type ImageSpec } from "./images";
export type { RealNode } from "./node";
