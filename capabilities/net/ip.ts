// IP addresses as numbers, so that ranges are one comparison. IPv4-mapped IPv6
// (::ffff:a.b.c.d) is the IPv4 address: a socket to it reaches the IPv4 host.
import { isIPv4, isIPv6 } from "node:net";

export interface Ip {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
}

const width = (family: 4 | 6) => (family === 4 ? 32 : 128);

/**
 * The address in `text` ("127.0.0.1", "::1", "[::1]", "fe80::1%eth0"), or undefined when it
 * is not one. Only canonical dotted-quad IPv4: the URL parser has already turned forms like
 * 0x7f.1 or 2130706433 into it, and a resolver never answers with them.
 */
export function parseIp(text: string): Ip | undefined {
  const bare = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (isIPv4(bare)) return { family: 4, value: v4Value(bare) };
  if (!isIPv6(bare)) return undefined;
  const value = v6Value(bare);
  return value >> 32n === 0xffffn ? { family: 4, value: value & 0xffff_ffffn } : { family: 6, value };
}

/**
 * "10.0.0.0/8", "fd00::/8", or a single address as its own /32 or /128. An IPv4 range
 * is written as IPv4: "::ffff:10.0.0.0/104" is refused rather than guessed at.
 */
export function parseCidr(text: string): Cidr | undefined {
  const [addr = "", prefix, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const bits = prefix === undefined ? width(ip.family) : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (!(bits >= 0 && bits <= width(ip.family))) return undefined;
  return { family: ip.family, base: ip.value, bits };
}

export function inCidr(ip: Ip, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  const shift = BigInt(width(cidr.family) - cidr.bits);
  return ip.value >> shift === cidr.base >> shift;
}

function v4Value(text: string): bigint {
  return text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function v6Value(text: string): bigint {
  const [head = "", tail] = text.split("::");
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right].reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

// Groups of one side of "::"; a trailing dotted quad is two groups.
function groups(side: string): number[] {
  if (side === "") return [];
  return side.split(":").flatMap(g => {
    if (!g.includes(".")) return [parseInt(g, 16)];
    const v = Number(v4Value(g));
    return [v >>> 16, v & 0xffff];
  });
}
