// The SSRF guard: which addresses are refused, what the allowlist lets through, and that a
// hostname is judged by every address it resolves to.
import { describe, expect, it } from "vitest";
import { ActionReason, ActionRefusedError, allowlistProblems, classifyAddress, isAllowed, vetDestination, type AddressClass, type Lookup } from "./index";
import { parseCidr, parseIp } from "../net";

describe("classifyAddress", () => {
  it.each<[string, AddressClass]>([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["169.254.0.1", "link-local"],
    ["169.254.169.254", "metadata"],
    ["169.254.170.2", "metadata"],
    ["100.100.100.200", "metadata"],
    ["168.63.129.16", "metadata"],
    ["::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["febf:ffff::1", "link-local"],
    ["fd00:ec2::254", "metadata"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:a9fe:a9fe", "metadata"],
    ["::ffff:0.0.0.0", "unspecified"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::169.254.169.254", "metadata"],
    ["64:ff9b::7f00:1", "loopback"],
    ["[::1]", "loopback"],
    // Not refused: private networks are ordinary destinations for in-cluster webhooks.
    ["10.0.0.1", "ok"],
    ["192.168.1.1", "ok"],
    ["172.16.0.1", "ok"],
    ["100.64.0.1", "ok"],
    ["128.0.0.1", "ok"],
    ["169.255.0.1", "ok"],
    ["1.1.1.1", "ok"],
    ["fec0::1", "ok"],
    ["fd00::1", "ok"],
    ["2001:db8::1", "ok"],
    ["::ffff:10.0.0.1", "ok"],
    ["::2:0:0", "ok"],
  ])("%s is %s", (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each(["localhost", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "", "1.2.3.4.5", "::g"])("throws on %j, which is not an address", text => {
    expect(() => classifyAddress(text)).toThrow(TypeError);
  });
});

describe("parseCidr", () => {
  it.each([
    ["10.0.0.0/8", { family: 4, bits: 8 }],
    ["127.0.0.1", { family: 4, bits: 32 }],
    ["::1", { family: 6, bits: 128 }],
    ["fd00::/8", { family: 6, bits: 8 }],
    ["0.0.0.0/0", { family: 4, bits: 0 }],
  ])("%s", (text, shape) => {
    expect(parseCidr(text)).toMatchObject(shape);
  });

  it.each(["10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/x", "example.com", "10.0.0.0/"])("refuses %s", text => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it("reads an IPv4-mapped address as IPv4", () => {
    expect(parseIp("::ffff:127.0.0.1")).toEqual(parseIp("127.0.0.1"));
  });
});

describe("isAllowed", () => {
  it.each<[string, string, string[], boolean]>([
    ["gate.test", "127.0.0.1", ["gate.test"], true],
    ["GATE.test.", "127.0.0.1", ["gate.test"], true],
    ["gate.test", "127.0.0.1", ["Gate.Test."], true],
    ["other.test", "127.0.0.1", ["gate.test"], false],
    ["sub.gate.test", "127.0.0.1", ["gate.test"], false],
    ["127.0.0.1", "127.0.0.1", ["127.0.0.1"], true],
    ["127.0.0.2", "127.0.0.2", ["127.0.0.1"], false],
    ["x.test", "127.0.0.9", ["127.0.0.0/24"], true],
    ["x.test", "127.0.1.9", ["127.0.0.0/24"], false],
    ["x.test", "::1", ["::1"], true],
    ["[::1]", "::1", ["::1/128"], true],
    ["x.test", "fe80::1234", ["fe80::/10"], true],
    ["x.test", "::ffff:127.0.0.1", ["127.0.0.1"], true],
    ["x.test", "127.0.0.1", ["::1"], false],
    ["x.test", "127.0.0.1", [" 127.0.0.1 "], true],
    ["x.test", "127.0.0.1", [], false],
  ])("%s at %s with %j: %s", (host, ip, allowlist, expected) => {
    expect(isAllowed(host, ip, allowlist)).toBe(expected);
  });
});

describe("allowlistProblems", () => {
  it("accepts hostnames, addresses and CIDRs", () => {
    expect(allowlistProblems(["gate.test", "localhost", "127.0.0.1", "10.0.0.0/8", "::1", "fd00:ec2::254/128", "metadata.google.internal."])).toEqual([]);
  });

  it.each([
    ["*.example.com", /wildcards are not supported/],
    ["10.0.0.0/33", /not an IP address or CIDR/],
    ["fe80::/", /not an IP address or CIDR/],
    ["http://gate.test", /not an IP address or CIDR/],
    ["gate test", /not a hostname, IP address or CIDR/],
  ])("reports %j", (entry, message) => {
    expect(allowlistProblems([entry])).toEqual([expect.stringMatching(message)]);
  });
});

/** A resolver from a table; unknown names fail like getaddrinfo does. */
function fakeLookup(table: Record<string, string[]>): Lookup {
  return async host => {
    const answers = table[host];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return answers.map(address => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}

const lookup = fakeLookup({
  "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  "localhost": ["127.0.0.1", "::1"],
  "sneaky.example.com": ["93.184.215.14", "169.254.169.254"],
  "gate.test": ["127.0.0.1"],
  "ipv6-only.test": ["::1"],
  "empty.test": [],
  "broken.test": ["not-an-ip"],
});

describe("vetDestination", () => {
  it.each([
    { url: "https://hooks.example.com/x", allowlist: [], address: "93.184.215.14", family: 4 },
    { url: "http://gate.test:8080/", allowlist: ["gate.test"], address: "127.0.0.1", family: 4 },
    { url: "http://127.0.0.1/", allowlist: ["127.0.0.0/8"], address: "127.0.0.1", family: 4 },
    { url: "http://[::1]/", allowlist: ["::1"], address: "::1", family: 6 },
    { url: "http://ipv6-only.test/", allowlist: ["ipv6-only.test"], address: "::1", family: 6 },
    { url: "http://10.1.2.3/", allowlist: [], address: "10.1.2.3", family: 4 },
  ])("$url with $allowlist → $address", async ({ url, allowlist, address, family }) => {
    await expect(vetDestination(new URL(url), { allowlist, lookup })).resolves.toEqual({ address, family });
  });

  it.each([
    { url: "http://localhost/", allowlist: [], message: "destination 127.0.0.1 (localhost) is loopback; allow it in the controller's host allowlist" },
    { url: "http://localhost/", allowlist: ["127.0.0.1"], message: "destination ::1 (localhost) is loopback; allow it in the controller's host allowlist" },
    { url: "http://sneaky.example.com/", allowlist: [], message: "destination 169.254.169.254 (sneaky.example.com) is a cloud metadata address; allow it in the controller's host allowlist" },
    { url: "http://gate.test/", allowlist: ["other.test"], message: "destination 127.0.0.1 (gate.test) is loopback; allow it in the controller's host allowlist" },
    { url: "http://127.0.0.1/", allowlist: ["gate.test"], message: "destination 127.0.0.1 is loopback; allow it in the controller's host allowlist" },
    { url: "http://169.254.169.254/latest/meta-data", allowlist: [], message: "destination 169.254.169.254 is a cloud metadata address; allow it in the controller's host allowlist" },
    { url: "http://[fe80::1]/", allowlist: [], message: "destination fe80::1 is link-local; allow it in the controller's host allowlist" },
    { url: "http://0.0.0.0:8080/", allowlist: [], message: "destination 0.0.0.0 is an unspecified address; allow it in the controller's host allowlist" },
    { url: "http://[::ffff:127.0.0.1]/", allowlist: [], message: "destination ::ffff:7f00:1 is loopback; allow it in the controller's host allowlist" },
    { url: "http://2130706433/", allowlist: [], message: "destination 127.0.0.1 is loopback; allow it in the controller's host allowlist" },
    { url: "http://empty.test/", allowlist: [], message: "empty.test resolves to no address" },
    { url: "http://broken.test/", allowlist: [], message: 'the lookup of broken.test returned "not-an-ip", which is not an IP address' },
    { url: "ftp://hooks.example.com/", allowlist: [], message: "scheme ftp is not allowed (only http and https)" },
  ])("refuses $url with $allowlist", async ({ url, allowlist, message }) => {
    const err = await vetDestination(new URL(url), { allowlist, lookup, action: "smoke" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionRefusedError);
    expect((err as ActionRefusedError).reason).toBe(ActionReason.ActionRefused);
    expect((err as ActionRefusedError).terminal).toBe(true);
    expect((err as Error).message).toBe(`http action "smoke": ${message}`);
  });

  it("passes lookup failures on", async () => {
    await expect(vetDestination(new URL("http://nowhere.test/"), { allowlist: [], lookup })).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("does not resolve an address literal", async () => {
    const never: Lookup = () => Promise.reject(new Error("looked up"));
    await expect(vetDestination(new URL("http://10.0.0.1/"), { allowlist: [], lookup: never })).resolves.toEqual({ address: "10.0.0.1", family: 4 });
  });
});
