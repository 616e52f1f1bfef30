// The Notifier against real servers on loopback. Loopback is what the SSRF guard refuses, so
// tests allow 127.0.0.1 (or a test hostname mapped to it), as the http action tests do.
import { describe, expect, it } from "vitest";
import { formatPayload, NotifyFailure } from "./index";
import { lookupOf, ok, status, withServer, type Handler } from "../../test/harness/action-test-server";
import { holding, recordingNotifier, target, transition } from "../../test/harness/notify-kit";

describe("Notifier delivers", () => {
  it("one POST per transition, with the payload of the target's format", async () => {
    const ce = transition("t1");
    const slack = transition("t2", { event: "Succeeded" });
    const { seen, outcomes } = await withServer(ok, async s => {
      const { notifier, outcomes } = recordingNotifier();
      expect(notifier.enqueue(target(`${s.base}/hooks/ce?x=1`), ce)).toBe("queued");
      expect(notifier.enqueue(target(`${s.base}/hooks/slack`, { format: "slack", name: "spec.notify[1]" }), slack)).toBe("queued");
      await notifier.idle();
      return { seen: s.seen, outcomes };
    });
    expect(seen.map(r => [r.method, r.path]).sort()).toEqual([["POST", "/hooks/ce?x=1"], ["POST", "/hooks/slack"]]);
    const byPath = Object.fromEntries(seen.map(r => [r.path, r]));
    expect(byPath["/hooks/ce?x=1"]).toMatchObject({ body: formatPayload("cloudevents", ce).body, headers: { "content-type": "application/cloudevents+json", "user-agent": "stageset-controller" } });
    expect(byPath["/hooks/slack"]).toMatchObject({ body: formatPayload("slack", slack).body, headers: { "content-type": "application/json" } });
    expect(outcomes.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { target: "spec.notify[0]", id: "t1", result: "delivered", attempts: 1 },
      { target: "spec.notify[1]", id: "t2", result: "delivered", attempts: 1 },
    ]);
  });

  it("sends user info of the URL as Basic credentials", async () => {
    const seen = await withServer(ok, async s => {
      const { notifier } = recordingNotifier();
      notifier.enqueue(target(`http://hook:p%40ss@127.0.0.1:${s.port}/`), transition("t1"));
      await notifier.idle();
      return s.seen;
    });
    expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from("hook:p@ss").toString("base64")}`);
  });

  it("connects to the address the guard vetted for an allowlisted hostname", async () => {
    const lookup = lookupOf({ "hooks.test": "127.0.0.1" });
    const { seen, outcomes } = await withServer(ok, async s => {
      const { notifier, outcomes } = recordingNotifier({ allowlist: ["hooks.test"], lookup });
      notifier.enqueue(target(`http://hooks.test:${s.port}/x`), transition("t1"));
      await notifier.idle();
      return { seen: s.seen, outcomes };
    });
    expect(seen[0]?.headers.host).toMatch(/^hooks\.test:\d+$/);
    expect(outcomes).toEqual([expect.objectContaining({ result: "delivered" })]);
    expect(lookup.calls).toEqual(["hooks.test"]);
  });

  it("retries a 500 twice and then succeeds: exactly 3 requests, 3 attempts", async () => {
    const flaky: Handler = (_seen, res, s) => void res.writeHead(s.seen.length <= 2 ? 500 : 200).end();
    const { requests, outcomes } = await withServer(flaky, async s => {
      const { notifier, outcomes } = recordingNotifier();
      notifier.enqueue(target(s.base), transition("t1"));
      await notifier.idle();
      return { requests: s.seen.length, outcomes };
    });
    expect(requests).toBe(3);
    expect(outcomes).toEqual([{ target: "spec.notify[0]", id: "t1", result: "delivered", attempts: 3 }]);
  });

  it.each([
    { name: "429", code: 429 },
    { name: "408", code: 408 },
    { name: "503", code: 503 },
  ])("retries a $name", async ({ code }) => {
    const once: Handler = (_seen, res, s) => void res.writeHead(s.seen.length === 1 ? code : 204).end();
    const outcomes = await withServer(once, async s => {
      const { notifier, outcomes } = recordingNotifier();
      notifier.enqueue(target(s.base), transition("t1"));
      await notifier.idle();
      return outcomes;
    });
    expect(outcomes).toEqual([expect.objectContaining({ result: "delivered", attempts: 2 })]);
  });

  it("honours Retry-After, up to the cap", async () => {
    const gap = async (seconds: string, maxBackoffMs: number) => {
      const times: number[] = [];
      const later: Handler = (_seen, res) => {
        times.push(performance.now());
        if (times.length === 1) res.writeHead(503, { "retry-after": seconds }).end();
        else res.writeHead(200).end();
      };
      await withServer(later, async s => {
        const { notifier } = recordingNotifier({ maxBackoffMs });
        notifier.enqueue(target(s.base), transition("t1"));
        await notifier.idle();
      });
      return times[1]! - times[0]!;
    };
    expect(await gap("1", 5_000)).toBeGreaterThanOrEqual(900); // not the 20 ms backoff
    expect(await gap("3600", 50)).toBeLessThan(900);
  });
});

describe("Notifier reports a failed delivery", () => {
  // The path and the query of a webhook URL often are its token: a message must never show them.
  const path = "/hooks/T0/s3cret?token=s3cret";
  it.each([
    { name: "a 404, not retried", handler: status(404, "no such hook s3cret"), reason: NotifyFailure.Rejected, requests: 1, message: /^spec\.notify\[0\] \(http:\/\/127\.0\.0\.1:\d+\): StageReady of stage app not delivered: answered 404; not retried$/ },
    { name: "a 401, not retried", handler: status(401), reason: NotifyFailure.Rejected, requests: 1, message: /: StageReady of stage app not delivered: answered 401; not retried$/ },
    { name: "a redirect, not followed", handler: ((_s, res) => void res.writeHead(302, { location: "http://169.254.169.254/latest" }).end()) as Handler, reason: NotifyFailure.Rejected, requests: 1, message: /not delivered: answered 302; redirects are not followed; not retried$/ },
    { name: "a 503 on every attempt", handler: status(503), reason: NotifyFailure.RetriesExhausted, requests: 3, message: /^spec\.notify\[0\] \(http:\/\/127\.0\.0\.1:\d+\): StageReady of stage app not delivered after 3 attempts: answered 503$/ },
  ])("$name", async ({ handler, reason, requests, message }) => {
    const got = await withServer(handler, async s => {
      const { notifier, outcomes } = recordingNotifier({ maxAttempts: 3 });
      notifier.enqueue(target(`http://user:s3cret@127.0.0.1:${s.port}${path}`), transition("t1"));
      await notifier.idle();
      return { requests: s.seen.length, outcomes };
    });
    expect(got.requests).toBe(requests);
    expect(got.outcomes).toEqual([{ target: "spec.notify[0]", id: "t1", result: reason, attempts: requests, message: expect.stringMatching(message) }]);
    expect(got.outcomes[0]?.message).not.toContain("s3cret");
  });

  it("a timeout on every attempt", async () => {
    const { handler, release } = holding();
    const got = await withServer(handler, async s => {
      const { notifier, outcomes } = recordingNotifier({ maxAttempts: 2, timeoutMs: 100 });
      notifier.enqueue(target(`${s.base}${path}`), transition("t1"));
      await notifier.idle();
      release();
      return { requests: s.seen.length, outcomes };
    });
    expect(got.requests).toBe(2);
    expect(got.outcomes).toEqual([expect.objectContaining({ result: NotifyFailure.RetriesExhausted, attempts: 2, message: expect.stringMatching(/not delivered after 2 attempts: no answer within 100 ms$/) })]);
  });

  it("a connection refused on every attempt", async () => {
    const port = await withServer(ok, async s => s.port); // closed again: nothing listens there now
    const { notifier, outcomes } = recordingNotifier({ maxAttempts: 2 });
    notifier.enqueue(target(`http://127.0.0.1:${port}${path}`), transition("t1"));
    await notifier.idle();
    expect(outcomes).toEqual([expect.objectContaining({ result: NotifyFailure.RetriesExhausted, attempts: 2, message: expect.stringMatching(/after 2 attempts: .*ECONNREFUSED/) })]);
    expect(outcomes[0]?.message).not.toContain("s3cret");
  });

  it.each([
    { name: "the metadata address", url: `http://169.254.169.254${path}`, lookup: {}, message: /^spec\.notify\[0\] \(http:\/\/169\.254\.169\.254\): StageReady of stage app not sent: destination 169\.254\.169\.254 is a cloud metadata address; allow it in the controller's host allowlist$/ },
    { name: "a name resolving to loopback", url: `http://hooks.test:8080${path}`, lookup: { "hooks.test": "127.0.0.2" }, message: /not sent: destination 127\.0\.0\.2 \(hooks\.test\) is loopback/ },
    { name: "a scheme other than http(s)", url: `ftp://hooks.example.com${path}`, lookup: {}, message: /not sent: scheme ftp is not allowed/ },
    { name: "not a URL", url: "hooks.example.com/s3cret", lookup: {}, message: /^spec\.notify\[0\] \(\(invalid URL\)\): StageReady of stage app not sent: the url is not a valid URL$/ },
  ] as { name: string; url: string; lookup: Record<string, string>; message: RegExp }[])("$name: refused at once, nothing sent", async ({ url, lookup, message }) => {
    const { notifier, outcomes } = recordingNotifier({ lookup: lookupOf(lookup), maxAttempts: 5 });
    const started = performance.now();
    notifier.enqueue(target(url), transition("t1"));
    await notifier.idle();
    expect(performance.now() - started).toBeLessThan(1_000); // no backoff: a refusal is never retried
    expect(outcomes).toEqual([{ target: "spec.notify[0]", id: "t1", result: NotifyFailure.Refused, attempts: 1, message: expect.stringMatching(message) }]);
    expect(outcomes[0]?.message).not.toContain("s3cret");
  });

  it("goes on when a callback throws", async () => {
    const seen = await withServer(ok, async s => {
      const { notifier } = recordingNotifier({ delivered: () => { throw new Error("engine bug"); } });
      notifier.enqueue(target(s.base), transition("t1"));
      await notifier.idle();
      notifier.enqueue(target(s.base), transition("t2"));
      await notifier.idle();
      return s.seen.length;
    });
    expect(seen).toBe(2);
  });
});
