// The node's CNI network: a bridge (cni0) per node with host-local addresses from the node's
// pod range. No masquerade between pods, so NetworkPolicy sees real pod addresses.
import { podCIDR, podGateway } from "./addresses";

export function cniConfig(i: number, ipamDir: string): string {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: "stageset",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: "host-local", dataDir: ipamDir, ranges: [[{ subnet: podCIDR(i), gateway: podGateway(i) }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  }, null, 1);
}
