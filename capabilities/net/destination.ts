// Where the controller may connect on a tenant's behalf (http actions, artifact downloads).
// A spec author must not reach the node or the cloud through the controller: loopback,
// link-local, unspecified and cloud metadata addresses are refused unless the caller permits
// a class or the controller's allowlist names the host. Every address a name resolves to is
// checked, and the caller connects to the one returned (pinnedLookup: no second lookup, so a
// second DNS answer cannot switch it).
import { promises as dns } from "node:dns";
import type { LookupFunction } from "node:net";
import { inCidr, parseCidr, parseIp, type Cidr, type Ip } from "./ip";

export type AddressClass = "loopback" | "link-local" | "unspecified" | "metadata" | "ok";

/** Resolves a hostname to every address it has (A and AAAA). */
export type Lookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface Destination {
  address: string;
  family: 4 | 6;
}

export interface VetOptions {
  /** Hostnames, addresses or CIDRs that may be reached although they are refused by default. */
  allowlist: readonly string[];
  /** Classes this caller allows anyway (artifact downloads: loopback, where a local source serves). */
  permit?: readonly AddressClass[];
  lookup?: Lookup;
  /** The action's name, for messages. */
  action?: string;
  /** The URL that redirected here, for messages. */
  redirectedFrom?: string;
}

// Instance metadata services hand out credentials: AWS, GCP, Azure, OpenStack and others on
// 169.254.169.254; AWS IPv6 IMDS and EKS Pod Identity; Alibaba Cloud; Azure's WireServer.
const metadataAddresses = ["169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23", "100.100.100.200", "168.63.129.16"];
const metadata = metadataAddresses.map(a => parseIp(a)!);

const cidr = (text: string) => parseCidr(text)!;
const ranges: readonly (readonly [AddressClass, Cidr])[] = [
  // 0.0.0.0/8 rather than 0.0.0.0 alone: Linux connects 0.0.0.0 to the local host.
  ["unspecified", cidr("0.0.0.0/8")],
  ["loopback", cidr("127.0.0.0/8")],
  ["link-local", cidr("169.254.0.0/16")],
  ["unspecified", cidr("::/128")],
  ["loopback", cidr("::1/128")],
  ["link-local", cidr("fe80::/10")],
];

// IPv6 forms whose last 32 bits are the IPv4 host a packet ends up at: IPv4-compatible
// (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96, used by IPv6-only clusters).
// IPv4-mapped (::ffff:a.b.c.d) is already IPv4 after parseIp.
const embedsIPv4 = [cidr("::/96"), cidr("64:ff9b::/96")];

/** What kind of address `ip` is; throws TypeError when it is not an IP address. */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parseIp(ip);
  if (!parsed) throw new TypeError(`${JSON.stringify(ip)} is not an IP address`);
  return classify(parsed);
}

function classify(ip: Ip): AddressClass {
  if (metadata.some(m => m.family === ip.family && m.value === ip.value)) return "metadata";
  const range = ranges.find(([, c]) => inCidr(ip, c));
  if (range) return range[0];
  if (embedsIPv4.some(c => inCidr(ip, c))) return classify({ family: 4, value: ip.value & 0xffff_ffffn });
  return "ok";
}

/** Whether the allowlist names `host` exactly, or holds `ip` (an address or a CIDR). */
export function isAllowed(host: string, ip: string, allowlist: readonly string[]): boolean {
  const name = normalHost(host);
  const addr = parseIp(ip);
  return allowlist.some(entry => {
    const range = parseCidr(entry.trim());
    if (range) return addr !== undefined && inCidr(addr, range);
    return normalHost(entry) === name;
  });
}

const hostname = /^(?=.{1,253}\.?$)[a-z0-9_](?:[-a-z0-9_]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[-a-z0-9_]{0,61}[a-z0-9_])?)*\.?$/i;

/** Why each allowlist entry that can never match is wrong; for checking the controller's options. */
export function allowlistProblems(allowlist: readonly string[]): string[] {
  return allowlist.flatMap(raw => {
    const entry = raw.trim();
    if (parseCidr(entry)) return [];
    if (entry.includes("*")) return [`${JSON.stringify(raw)}: wildcards are not supported; list each hostname, or use a CIDR`];
    if (entry.includes("/") || entry.includes(":")) return [`${JSON.stringify(raw)}: not an IP address or CIDR`];
    if (!hostname.test(entry)) return [`${JSON.stringify(raw)}: not a hostname, IP address or CIDR`];
    return [];
  });
}

export const systemLookup: Lookup = host => dns.lookup(host, { all: true, verbatim: true });

/** A destination refused by the guard; callers turn it into their own typed error. */
export class DestinationRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DestinationRefusedError";
  }
}

/**
 * The address to connect to for `url`: its literal IP, or the first address its hostname
 * resolves to, once every resolved address has passed the guard. Throws
 * DestinationRefusedError when one has not; lookup errors (ENOTFOUND) are passed on as they are.
 */
export async function vetAddress(url: URL, opts: VetOptions): Promise<Destination> {
  const prefix = (opts.action === undefined ? "" : `http action "${opts.action}": `) + (opts.redirectedFrom ? `redirect from ${opts.redirectedFrom}: ` : "");
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DestinationRefusedError(`${prefix}scheme ${url.protocol.replace(/:$/, "")} is not allowed (only http and https)`);
  }
  const host = bareHost(url);
  const literal = parseIp(host);
  const answers = literal ? [{ address: host, family: literal.family }] : await (opts.lookup ?? systemLookup)(host);
  if (answers.length === 0) throw new DestinationRefusedError(`${prefix}${host} resolves to no address`);
  for (const { address } of answers) {
    const problem = refusal(host, address, opts.allowlist, !literal, opts.permit ?? []);
    if (problem) throw new DestinationRefusedError(`${prefix}${problem}`);
  }
  const first = answers[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

function refusal(host: string, address: string, allowlist: readonly string[], named: boolean, permit: readonly AddressClass[]): string | undefined {
  const shown = named ? `${address} (${host})` : address;
  const parsed = parseIp(address);
  if (!parsed) return `the lookup of ${host} returned ${JSON.stringify(address)}, which is not an IP address`;
  const kind = classify(parsed);
  if (kind === "ok" || permit.includes(kind) || isAllowed(host, address, allowlist)) return undefined;
  const what = kind === "metadata" ? "a cloud metadata address" : kind === "unspecified" ? "an unspecified address" : kind;
  return `destination ${shown} is ${what}; allow it in the controller's host allowlist`;
}

/** The URL's host without IPv6 brackets: what to resolve and connect to. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

function normalHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
}

/** A lookup that answers with the vetted address, whatever the name now resolves to. */
export function pinnedLookup(destination: Destination): LookupFunction {
  return (_hostname, options, callback) => {
    // Happy eyeballs (autoSelectFamily, on by default in Node 20) asks for a list.
    if (options.all) callback(null, [{ address: destination.address, family: destination.family }]);
    else callback(null, destination.address, destination.family);
  };
}

/** `work`, or the signal's reason as soon as it aborts (the work itself is not stopped). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Redirects followed by hand (every hop vetted again), at most this many per request. */
export const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
export const isRedirect = (status: number) => redirectStatuses.has(status);

/** The URL without credentials, query or fragment: safe for status and logs. */
export function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
