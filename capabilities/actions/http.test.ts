// The http verb against real servers on loopback. Loopback is exactly what the SSRF guard
// refuses, so tests that must reach a server allow 127.0.0.1 (or a test hostname mapped to
// it); the others prove that nothing is sent.
import { describe, expect, it } from "vitest";
import {
  ActionConnectionError,
  ActionError,
  ActionReason,
  ActionRefusedError,
  ActionStatusError,
  ActionTimeoutError,
  runHttpAction,
  type HttpVerb,
} from "./index";
import { bodySummary, isExpected } from "./http";
import { pinnedLookup } from "./ssrf";
import { failure, get, lookupOf, ok, options, redirect, status, withServer, type Handler, type Server } from "../../test/harness/action-test-server";

describe("runHttpAction reaches an allowed server", () => {
  it("returns the status and how long it took", async () => {
    const got = await withServer(ok, s => runHttpAction(get(`${s.base}/health`), options()));
    expect(got.status).toBe(200);
    expect(got.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("sends the method, headers and body, with values from Secrets", async () => {
    const spec: HttpVerb = {
      method: "POST",
      url: "",
      bodyFrom: { secretKeyRef: { name: "hook", key: "payload" } },
      headers: [
        { name: "Content-Type", value: "application/json" },
        { name: "X-Token", valueFrom: { secretKeyRef: { name: "hook", key: "token" } } },
      ],
      expectedStatus: [202],
    };
    const seen = await withServer(status(202), async s => {
      await runHttpAction({ ...spec, url: `${s.base}/hook?x=1` }, options());
      return s.seen;
    });
    expect(seen).toEqual([expect.objectContaining({ method: "POST", path: "/hook?x=1", body: '{"from":"secret"}' })]);
    expect(seen[0]?.headers).toMatchObject({ "content-type": "application/json", "x-token": "t0ken", "content-length": "17" });
  });

  it.each([
    { name: "204 by default", handler: status(204), expected: undefined, status: 204 },
    { name: "a listed 404", handler: status(404), expected: [404], status: 404 },
    { name: "a listed 302, not followed", handler: redirect(302, () => "http://169.254.169.254/"), expected: [302], status: 302 },
  ])("accepts $name", async ({ handler, expected, status: want }) => {
    const got = await withServer(handler, s => runHttpAction(get(`${s.base}/start`, { expectedStatus: expected }), options()));
    expect(got.status).toBe(want);
  });
});

describe("runHttpAction reports", () => {
  it.each([
    { name: "a 500 with its body", handler: status(500, "database\n  is down"), expected: undefined, message: /^http action "smoke": GET http:\/\/127\.0\.0\.1:\d+\/start answered 500, expected 2xx \(body: 18 bytes, sha256 [0-9a-f]{12}\)$/, retryable: true },
    { name: "a 200 when 201 was expected", handler: ok, expected: [201, 202], message: /answered 200, expected 201, 202 \(body: 4 bytes, sha256 [0-9a-f]{12}\)$/, retryable: true },
    { name: "an empty 404", handler: status(404), expected: undefined, message: /answered 404, expected 2xx \(empty body\)$/, retryable: false },
    { name: "a 429", handler: status(429, "slow down"), expected: undefined, message: /answered 429, expected 2xx \(body: 9 bytes, sha256 [0-9a-f]{12}\)$/, retryable: true },
    { name: "a redirect without Location", handler: status(302), expected: undefined, message: /answered 302, expected 2xx/, retryable: true },
  ])("$name", async ({ handler, expected, message, retryable }) => {
    const spec = (s: Server) => get(`${s.base}/start?token=s3cret`, { expectedStatus: expected });
    const err = await withServer(handler, s => failure(runHttpAction(spec(s), options())));
    expect(err).toBeInstanceOf(ActionStatusError);
    expect(err.reason).toBe(ActionReason.ActionFailed);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain("s3cret");
    expect(err.message).not.toMatch(/database|is down|fine|slow down/); // a body is never quoted
    expect(err.retryable).toBe(retryable);
  });

  it("reads no more than the cap of an endless error body, and quotes none of it", async () => {
    const endless: Handler = (_seen, res) => {
      res.writeHead(500);
      const more = () => res.write("x".repeat(16 * 1024), () => setTimeout(more, 1));
      more();
    };
    const err = (await withServer(endless, s => failure(runHttpAction(get(s.base), options())))) as ActionStatusError;
    expect(err.body.length).toBeLessThanOrEqual(64 * 1024);
    expect(err.message).toMatch(/answered 500, expected 2xx \(body: 65536 bytes or more, sha256 [0-9a-f]{12}\)$/);
    expect(err.message).not.toContain("xxxx");
  });

  it("a server that never answers, as a timeout", async () => {
    const err = await withServer(() => undefined, s => failure(runHttpAction(get(`${s.base}/slow`), options({ timeoutMs: 200 }))));
    expect(err).toBeInstanceOf(ActionTimeoutError);
    expect(err.reason).toBe(ActionReason.ActionTimeout);
    expect(err.message).toMatch(/^http action "smoke": GET http:\/\/127\.0\.0\.1:\d+\/slow: no answer within 200 ms$/);
  });

  it("a refused connection", async () => {
    const port = await withServer(ok, async s => s.port); // closed again: nothing listens there now
    const err = await failure(runHttpAction(get(`http://127.0.0.1:${port}/`), options()));
    expect(err).toBeInstanceOf(ActionConnectionError);
    expect((err as ActionConnectionError).code).toBe("ECONNREFUSED");
    expect(err.message).toMatch(/^http action "smoke": GET http:\/\/127\.0\.0\.1:\d+\/: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it("a hostname that does not resolve", async () => {
    const err = await failure(runHttpAction(get("http://nowhere.test/"), options({ lookup: lookupOf({}) })));
    expect(err).toBeInstanceOf(ActionConnectionError);
    expect(err.message).toBe('http action "smoke": GET http://nowhere.test/: getaddrinfo ENOTFOUND nowhere.test');
  });

  it("TLS spoken to a plain server (https goes through the pinned address too)", async () => {
    const err = await withServer(ok, s => failure(runHttpAction(get(`https://gate.test:${s.port}/`), options({ allowlist: ["gate.test"], lookup: lookupOf({ "gate.test": "127.0.0.1" }) }))));
    expect(err).toBeInstanceOf(ActionConnectionError);
    expect(err.message).toMatch(/^http action "smoke": GET https:\/\/gate\.test:\d+\/: .*(SSL|ssl|EPROTO)/);
  });

  it("a Secret that cannot be read", async () => {
    const spec = get("http://127.0.0.1:1/", { headers: [{ name: "x", valueFrom: { secretKeyRef: { name: "gone", key: "k" } } }] });
    const err = await failure(runHttpAction(spec, options()));
    expect(err.constructor).toBe(ActionError);
    expect(err.message).toBe('http action "smoke": reading key k of Secret gone: secrets "gone" not found');
  });

  it("cancellation by the caller", async () => {
    const controller = new AbortController();
    const err = await withServer(
      () => controller.abort(),
      s => failure(runHttpAction(get(s.base), options({ signal: controller.signal }))),
    );
    expect(err.message).toMatch(/^http action "smoke": GET http:\/\/127\.0\.0\.1:\d+\/: aborted$/);
  });
});

describe("runHttpAction refuses, and sends nothing", () => {
  it.each([
    { name: "a loopback URL", url: (s: Server) => `${s.base}/x`, shown: "127.0.0.1", what: "loopback" },
    { name: "the metadata service", url: () => "http://169.254.169.254/latest/meta-data", shown: "169.254.169.254", what: "a cloud metadata address" },
    { name: "a hostname that resolves to loopback", url: (s: Server) => `http://inside.test:${s.port}/x`, shown: "127.0.0.1 (inside.test)", what: "loopback" },
    { name: "localhost", url: (s: Server) => `http://localhost:${s.port}/x`, shown: "127.0.0.1 (localhost)", what: "loopback" },
    { name: "IPv6 loopback", url: (s: Server) => `http://[::1]:${s.port}/x`, shown: "::1", what: "loopback" },
    { name: "IPv4-mapped IPv6 loopback", url: (s: Server) => `http://[::ffff:127.0.0.1]:${s.port}/x`, shown: "::ffff:7f00:1", what: "loopback" },
    // The URL parser turns these into 127.0.0.1 before anything else sees them.
    { name: "a decimal IPv4 address", url: (s: Server) => `http://2130706433:${s.port}/x`, shown: "127.0.0.1", what: "loopback" },
    { name: "a hex IPv4 address", url: (s: Server) => `http://0x7f.1:${s.port}/x`, shown: "127.0.0.1", what: "loopback" },
    { name: "an octal IPv4 address", url: (s: Server) => `http://0177.0.0.1:${s.port}/x`, shown: "127.0.0.1", what: "loopback" },
    { name: "a short IPv4 address", url: (s: Server) => `http://127.1:${s.port}/x`, shown: "127.0.0.1", what: "loopback" },
    { name: "circled digits, which IDNA maps to ASCII", url: (s: Server) => `http://\u2460\u2461\u2466.0.0.1:${s.port}/x`, shown: "127.0.0.1", what: "loopback" },
    { name: "0.0.0.0", url: (s: Server) => `http://0.0.0.0:${s.port}/x`, shown: "0.0.0.0", what: "an unspecified address" },
  ])("$name", async ({ url, shown, what }) => {
    const lookup = lookupOf({ "inside.test": "127.0.0.1", localhost: "127.0.0.1" });
    const [err, seen] = await withServer(ok, async s => [await failure(runHttpAction(get(url(s)), options({ allowlist: [], lookup }))), s.seen.length] as const);
    expect(err).toBeInstanceOf(ActionRefusedError);
    expect(err.reason).toBe(ActionReason.ActionRefused);
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(`http action "smoke": destination ${shown} is ${what}; allow it in the controller's host allowlist`);
    expect(seen).toBe(0);
  });
});

describe("helpers", () => {
  it.each<[number, number[] | undefined, boolean]>([
    [200, undefined, true],
    [299, undefined, true],
    [300, undefined, false],
    [199, undefined, false],
    [404, [404], true],
    [200, [204], false],
  ])("isExpected(%i, %j) is %s", (status, expected, want) => {
    expect(isExpected(status, expected)).toBe(want);
  });

  it.each([
    ["", " (empty body)"],
    ["x", " (body: 1 byte, sha256 2d711642b726)"],
    ["password=hunter2", " (body: 16 bytes, sha256 "],
  ])("bodySummary(%j) gives size and hash, never content", (body, want) => {
    const summary = bodySummary(Buffer.from(body));
    expect(summary.startsWith(want)).toBe(true);
    if (body.length > 1) expect(summary).not.toContain(body);
  });

  // Node 20 connects with happy eyeballs (autoSelectFamily), which asks for all addresses.
  it.each([
    { all: true, want: [null, [{ address: "10.0.0.7", family: 4 }]] },
    { all: false, want: [null, "10.0.0.7", 4] },
  ])("pinnedLookup answers the vetted address (all: $all)", ({ all, want }) => {
    const answers: unknown[][] = [];
    pinnedLookup({ address: "10.0.0.7", family: 4 })("elsewhere.test", { all }, (...args) => answers.push(args));
    expect(answers).toEqual([want]);
  });
});
