// The gate under hostile input: thousands of random requests on raw sockets (methods, paths,
// headers, bodies, malformed framing) and slow clients. It must never answer 5xx, never leak a
// status message, keep answering well-formed requests, and keep its memory bounded.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StageSet } from "../../capabilities/api";
import { ReadinessView, startGateServer, type Listener } from "../../capabilities/gate";

const marker = `SECRET-MESSAGE-${Math.random().toString(36).slice(2)}`;
let gate: Listener;
let port = 0;

const rev = "v1@sha256:abc";

function stageSet(name: string, phase: "Ready" | "Waiting"): StageSet {
  return {
    apiVersion: "stageset.dev/v1alpha1",
    kind: "StageSet",
    metadata: { namespace: "team", name, generation: 1 },
    spec: { stages: [{ name: "db", sourceRef: { name: marker.toLowerCase().slice(0, 20) } }] },
    status: { observedGeneration: 1, runGeneration: 1, lastAttemptedRevisions: { db: rev }, stages: [{ name: "db", phase, attemptedRevision: rev, attemptedDigest: "sha256:abc", ...(phase === "Ready" ? { appliedRevision: rev, appliedDigest: "sha256:abc", verifiedGeneration: 1 } : {}), message: marker }], conditions: [{ type: "Ready", status: "False", reason: marker, message: marker, lastTransitionTime: "2026-01-01T00:00:00Z" }] },
  } as StageSet;
}

beforeAll(async () => {
  // Every source publishes the artifact the Ready stage applied.
  const view = new ReadinessView({ published: () => ({ revision: rev, digest: "sha256:abc" }), healthy: () => true });
  view.update(stageSet("open", "Ready"));
  view.update(stageSet("closed", "Waiting"));
  gate = await startGateServer("127.0.0.1:0", view);
  port = gate.port;
});
afterAll(() => gate.close());

/** mulberry32: a small seeded PRNG, so a failure names the seed that reproduces it. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = ReturnType<typeof prng>;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const junk = (r: Rand, n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(r() * 256))).join("");

const methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "TRACE", "CONNECT", "G".repeat(300), "BREW"];
function path(r: Rand): string {
  return pick(r, [
    () => "/gate/team/open/db",
    () => "/gate/team/closed/db",
    () => `/gate/team/${junk(r, 5)}/db`,
    () => `/gate/${encodeURIComponent(junk(r, 20))}/x/y`,
    () => "/gate/../../etc/passwd",
    () => "//gate//team//open//db",
    () => `/gate/team/open/db?${"a=b&".repeat(Math.floor(r() * 2000))}`,
    () => `/${"x".repeat(Math.floor(r() * 12_000))}`,
    () => "/gate/ünïcødé/✓/db",
    () => `/metrics`,
    () => `*`,
  ])();
}

/** Mostly plausible values; now and then control bytes or a value past the header limit. */
function headerValue(r: Rand): string {
  const x = r();
  if (x < 0.05) return junk(r, 40).replace(/[\r\n]/g, "");
  if (x < 0.1) return "x".repeat(Math.floor(r() * 9000));
  const printable = Array.from({ length: 1 + Math.floor(r() * 60) }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join("");
  return pick(r, ["application/json", "*/*", "text/html, application/json;q=0.9", printable]);
}

function request(r: Rand): Buffer {
  const lines = [`${pick(r, methods)} ${path(r)} HTTP/1.1`, "Host: gate"];
  for (let i = Math.floor(r() * 12); i > 0; i--) lines.push(`${pick(r, ["Accept", "X-" + junk(r, 3).replace(/[^A-Za-z]/g, "a"), "Cookie", "Accept"])}: ${headerValue(r)}`);
  const body = r() < 0.4 ? Buffer.alloc(Math.floor(r() * 80_000), "b") : Buffer.alloc(0);
  const framing = pick(r, ["length", "length", "bad-length", "chunked", "bad-chunked", "none"]);
  if (framing === "length") lines.push(`Content-Length: ${body.length}`);
  if (framing === "bad-length") lines.push(`Content-Length: ${pick(r, ["-1", "abc", "99999999999999999999", `${body.length + 10}`])}`);
  if (framing.endsWith("chunked")) lines.push("Transfer-Encoding: chunked");
  lines.push("Connection: close", "", "");
  const chunked = framing === "chunked" ? Buffer.from(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`) : framing === "bad-chunked" ? Buffer.from(`zz\r\n${junk(r, 10)}\r\n`) : body;
  return Buffer.concat([Buffer.from(lines.join("\r\n"), "latin1"), chunked]);
}

/** Sends raw bytes; resolves with what came back (empty when the server just closed). */
function send(bytes: Buffer): Promise<string> {
  return new Promise(ok => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    socket.on("data", d => (got += d.toString("latin1")));
    socket.on("error", () => undefined); // a reset after a refused request is fine
    socket.on("close", () => ok(got));
    socket.setTimeout(12_000, () => socket.destroy());
    socket.end(bytes);
  });
}

async function barrage(seed: number, count: number): Promise<Map<number, number>> {
  const r = prng(seed);
  const statuses = new Map<number, number>();
  const requests = Array.from({ length: count }, () => request(r));
  for (let i = 0; i < requests.length; i += 64) {
    const answers = await Promise.all(requests.slice(i, i + 64).map(send));
    for (const a of answers) {
      expect(a, `seed ${seed}: a status message leaked`).not.toContain(marker);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(a)?.[1] ?? 0);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }
  return statuses;
}

describe("the gate under hostile input", () => {
  it("never answers 5xx or leaks a message, and still answers correctly afterwards, with bounded memory", async () => {
    const seed = 20261123;
    const first = await barrage(seed, 2000);
    const heapAfterFirst = process.memoryUsage().heapUsed;
    const second = await barrage(seed + 1, 2000);
    const growthMB = (process.memoryUsage().heapUsed - heapAfterFirst) / 2 ** 20;
    const all = new Map([...first]);
    for (const [k, v] of second) all.set(k, (all.get(k) ?? 0) + v);
    console.log(`hostile: 4000 requests, statuses ${JSON.stringify(Object.fromEntries(all))}, heap growth over the second 2000: ${growthMB.toFixed(1)} MiB`);
    expect([...all.keys()].filter(s => s >= 500)).toEqual([]);
    expect([...all.keys()].every(s => [0, 200, 400, 403, 404, 405, 408, 413, 431].includes(s))).toBe(true);
    expect(all.get(200)).toBeGreaterThan(0); // the barrage did include well-formed, open requests
    expect(growthMB).toBeLessThan(50);
    expect((await fetch(`${gate.url}/gate/team/open/db`)).status).toBe(200);
    expect((await fetch(`${gate.url}/gate/team/closed/db`)).status).toBe(403);
  }, 120_000);

  it("cuts slow clients off at the header timeout and keeps serving others meanwhile", async () => {
    const slow = Array.from({ length: 50 }, () => {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      socket.resume(); // read whatever comes, so the server's close is seen
      const opened = Date.now();
      const closed = new Promise<number>(ok => socket.on("close", () => ok(Date.now() - opened)));
      const drip = "GET /gate/team/open/db HTTP/1.1\r\nHost: gate\r\nX-Slow: " + "a".repeat(1000);
      let i = 0;
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(drip[i++ % drip.length]!)), 200);
      return closed.finally(() => clearInterval(timer));
    });
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      expect((await fetch(`${gate.url}/gate/team/open/db`)).status).toBe(200);
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    const closedAfter = await Promise.all(slow);
    console.log(`slowloris: p99 of 200 requests meanwhile ${latencies[197]!.toFixed(1)} ms; 50 slow clients closed after ${Math.min(...closedAfter)}-${Math.max(...closedAfter)} ms`);
    expect(latencies[197]).toBeLessThan(200);
    expect(Math.max(...closedAfter)).toBeLessThan(8_000); // 5 s header timeout, checked every second
  }, 60_000);

  it("closes a request whose body never arrives, at the request timeout", async () => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    const opened = Date.now();
    const closed = new Promise<number>(ok => socket.on("close", () => ok(Date.now() - opened)));
    let answer = "";
    socket.on("data", d => (answer += d));
    socket.write("POST /gate/team/open/db HTTP/1.1\r\nHost: gate\r\nContent-Length: 1000\r\n\r\n0123456789");
    expect(await closed).toBeLessThan(13_000); // 10 s request timeout, checked every second
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  }, 30_000);
});
