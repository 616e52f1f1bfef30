// What a node cluster adds to the host's network, and nothing more: one bridge carrying
// 198.18.0.0/24, one veth per node into it, and a route per node's pod range via that node
// (so the API server can call webhooks on pod IPs). Deleting the bridge and the veths takes
// the routes with them. Everything else (iptables, pod bridges) lives in the nodes' namespaces.
import { execFileSync } from "node:child_process";
import { bridgeAddress, nodeIP, podCIDR } from "./addresses";
import { sh } from "./run";

export function assertAddressFree(): void {
  const addrs = execFileSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" });
  if (addrs.includes(` ${bridgeAddress}/`)) {
    throw new Error(`${bridgeAddress} is already configured: another node cluster is running on this machine (only one at a time)`);
  }
}

export function createBridge(bridge: string): void {
  sh("ip", ["link", "add", bridge, "type", "bridge"]);
  sh("ip", ["addr", "add", `${bridgeAddress}/24`, "dev", bridge]);
  sh("ip", ["link", "set", bridge, "up"]);
}

export interface NodeLink {
  i: number;
  count: number;
  bridge: string;
  netns: string;
  veth: string;
}

/** Makes the node's network namespace, with its end of a veth pair as eth0. */
export function attachNode(l: NodeLink): void {
  sh("ip", ["netns", "add", l.netns]);
  sh("ip", ["link", "add", l.veth, "type", "veth", "peer", "name", "eth0", "netns", l.netns]);
  sh("ip", ["link", "set", l.veth, "master", l.bridge, "up"]);
  const ipn = (...args: string[]) => sh("ip", ["-n", l.netns, ...args]);
  ipn("link", "set", "lo", "up");
  ipn("addr", "add", `${nodeIP(l.i)}/24`, "dev", "eth0");
  ipn("link", "set", "eth0", "up");
  // Pod ranges of the other nodes are reached through those nodes, as a flat L3 network.
  for (let j = 1; j <= l.count; j++) if (j !== l.i) ipn("route", "add", podCIDR(j), "via", nodeIP(j));
  sh("ip", ["route", "add", podCIDR(l.i), "via", nodeIP(l.i), "dev", l.bridge]);
}
