// The address plan of a node cluster. Every address comes from 198.18.0.0/15 (RFC 2544,
// benchmarking), because this machine's network flags traffic to private ranges:
//   bridge (host side)   198.18.0.1/24, the API server listens there
//   node i (1-based)     198.18.0.(1+i), pods 198.18.(127+i).0/24 (inside 198.18.128.0/17)
//   Services             198.19.0.0/16 (the control plane's range), cluster DNS at 198.19.0.10

export const bridgeAddress = "198.18.0.1";
export const bridgeCIDR = "198.18.0.0/24";
export const clusterCIDR = "198.18.128.0/17";
export const clusterDNS = "198.19.0.10";
export const maxNodes = 8;

export const nodeIP = (i: number): string => `198.18.0.${1 + i}`;
export const podCIDR = (i: number): string => `198.18.${127 + i}.0/24`;
/** The pod bridge's own address on node i: the gateway of its pods. */
export const podGateway = (i: number): string => `198.18.${127 + i}.1`;
