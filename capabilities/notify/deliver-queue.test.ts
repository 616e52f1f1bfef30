// The Notifier's queue: de-duplication, never blocking the caller, bounded concurrency and
// queue, and stop() leaving nothing behind.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { NotifyFailure } from "./index";
import { ok, status, withServer, type Handler } from "../../test/harness/action-test-server";
import { holding, recordingNotifier, sleep, target, transition, until } from "../../test/harness/notify-kit";

const idOf = (body: string) => (JSON.parse(body) as { id: string }).id;

describe("Notifier sends a transition once", () => {
  it("when it is enqueued again while pending, and after it was delivered", async () => {
    const seen = await withServer(ok, async s => {
      const { notifier } = recordingNotifier();
      expect(notifier.enqueue(target(s.base), transition("t1"))).toBe("queued");
      expect(notifier.enqueue(target(s.base), transition("t1"))).toBe("duplicate");
      await notifier.idle();
      expect(notifier.enqueue(target(s.base), transition("t1", { message: "observed again" }))).toBe("duplicate");
      expect(notifier.enqueue(target(`${s.base}/other`), transition("t1"))).toBe("queued"); // another target
      await notifier.idle();
      return s.seen;
    });
    expect(seen.map(r => r.path)).toEqual(["/", "/other"]);
  });

  it("but again once the dedupe window has passed", async () => {
    let now = 0;
    const seen = await withServer(ok, async s => {
      const { notifier } = recordingNotifier({ now: () => now, dedupeWindowMs: 60_000 });
      notifier.enqueue(target(s.base), transition("t1"));
      await notifier.idle();
      now = 59_999;
      expect(notifier.enqueue(target(s.base), transition("t1"))).toBe("duplicate");
      now = 60_000;
      expect(notifier.enqueue(target(s.base), transition("t1"))).toBe("queued");
      await notifier.idle();
      return s.seen.length;
    });
    expect(seen).toBe(2);
  });

  it("but again after it failed: a later observation is another chance", async () => {
    const seen = await withServer(status(404), async s => {
      const { notifier, outcomes } = recordingNotifier();
      notifier.enqueue(target(s.base), transition("t1"));
      await notifier.idle();
      expect(notifier.enqueue(target(s.base), transition("t1"))).toBe("queued");
      await notifier.idle();
      expect(outcomes.map(o => o.result)).toEqual([NotifyFailure.Rejected, NotifyFailure.Rejected]);
      return s.seen.length;
    });
    expect(seen).toBe(2);
  });
});

describe("Notifier never blocks the caller", () => {
  it("enqueue returns before the server answers", async () => {
    const slow: Handler = (_seen, res) => void setTimeout(() => res.writeHead(200).end(), 2_000);
    await withServer(slow, async s => {
      const { notifier, outcomes } = recordingNotifier({ timeoutMs: 10_000 });
      const started = performance.now();
      const result = notifier.enqueue(target(s.base), transition("t1"));
      const took = performance.now() - started;
      expect(result).toBe("queued");
      expect(outcomes).toEqual([]);
      expect(notifier.pending).toBe(1);
      // Typically well under a millisecond; the bound is loose so that a busy machine does
      // not fail it, and still far below the server's 2 s.
      expect(took).toBeLessThan(250);
      await notifier.idle();
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(outcomes).toEqual([expect.objectContaining({ result: "delivered", attempts: 1 })]);
    });
  }, 10_000);

  it("sends at most `concurrency` at once", async () => {
    const { handler, release, held } = holding();
    const seen = await withServer(handler, async s => {
      const { notifier, outcomes } = recordingNotifier({ concurrency: 2 });
      for (const id of ["t1", "t2", "t3", "t4", "t5"]) notifier.enqueue(target(s.base), transition(id));
      await until(() => held() === 2, "two requests in flight");
      await sleep(100);
      expect(held()).toBe(2);
      release();
      await notifier.idle();
      expect(outcomes.filter(o => o.result === "delivered")).toHaveLength(5);
      return s.seen;
    });
    expect(seen.map(r => idOf(r.body))).toEqual(["t1", "t2", "t3", "t4", "t5"]);
  });

  it("drops the oldest waiting delivery when the queue is full, and says so", async () => {
    const { handler, release, held } = holding();
    const seen = await withServer(handler, async s => {
      const { notifier, outcomes } = recordingNotifier({ concurrency: 1, maxQueued: 2 });
      for (const id of ["t1", "t2", "t3", "t4"]) notifier.enqueue(target(s.base), transition(id));
      expect(outcomes).toEqual([{ target: "spec.notify[0]", id: "t2", result: NotifyFailure.QueueFull, attempts: 0, message: expect.stringMatching(/^spec\.notify\[0\] \(http:\/\/127\.0\.0\.1:\d+\): StageReady of stage app dropped: more than 2 notifications waiting$/) }]);
      await until(() => held() === 1, "t1 in flight");
      release();
      await notifier.idle();
      return s.seen;
    });
    expect(seen.map(r => idOf(r.body))).toEqual(["t1", "t3", "t4"]);
  });
});

describe("Notifier.stop", () => {
  it("reports every pending delivery as Stopped and sends nothing more", async () => {
    const { handler } = holding();
    const route: Handler = (seen, res) => (seen.path === "/fail" ? void res.writeHead(500).end() : handler(seen, res));
    await withServer(route, async s => {
      const { notifier, outcomes } = recordingNotifier({ baseBackoffMs: 60_000, maxBackoffMs: 60_000 });
      notifier.enqueue(target(`${s.base}/fail`), transition("backing-off"));
      notifier.enqueue(target(`${s.base}/hold`), transition("in-flight"));
      await until(() => s.seen.length === 2, "both requests");
      await sleep(50);
      notifier.stop();
      await notifier.idle();
      expect(notifier.enqueue(target(s.base), transition("late"))).toBe("stopped");
      expect(outcomes).toEqual([
        expect.objectContaining({ id: "backing-off", result: NotifyFailure.Stopped, attempts: 1, message: expect.stringMatching(/not delivered: the controller stopped$/) }),
        expect.objectContaining({ id: "in-flight", result: NotifyFailure.Stopped, attempts: 1 }),
        expect.objectContaining({ id: "late", result: NotifyFailure.Stopped, attempts: 0 }),
      ]);
      await sleep(200);
      expect(s.seen).toHaveLength(2);
    });
  });

  // A delivery backing off for a minute and one held in flight for a minute: after stop() and
  // the server's close, the event loop must empty by itself (beforeExit). Without stop() the
  // held request keeps the process alive, which the second row shows.
  it.each([
    { name: "after stop(): the process exits", stop: true, code: 0, reasons: ["Stopped", "Stopped"] },
    { name: "without stop(): the held request keeps it alive", stop: false, code: null, reasons: undefined },
  ])("$name", async ({ stop, code, reasons }) => {
    const env = { NOTIFY_INDEX: new URL("./index.ts", import.meta.url).href, NOTIFY_STOP: String(stop) };
    const got = await runNode(exitScript, env, stop ? 20_000 : 3_000);
    expect(got.code, got.stderr).toBe(code);
    expect(got.stdout === "" ? undefined : (JSON.parse(got.stdout) as { reasons: string[] }).reasons).toEqual(reasons);
  }, 30_000);
});

const exitScript = `
const { Notifier } = await import(process.env.NOTIFY_INDEX);
const http = await import("node:http");
let requests = 0;
const server = http.createServer((req, res) => { requests++; req.resume(); if (req.url === "/fail") res.writeHead(500).end(); });
await new Promise(ok => server.listen(0, "127.0.0.1", ok));
const base = "http://127.0.0.1:" + server.address().port;
const reasons = [];
const n = new Notifier({ allowlist: ["127.0.0.1"], baseBackoffMs: 60000, maxBackoffMs: 60000, timeoutMs: 60000, failed: (_to, _t, reason) => reasons.push(reason) });
const t = id => ({ event: "StageReady", namespace: "shop", stageSet: "web", message: "m", time: "2025-05-01T12:00:00Z", id });
n.enqueue({ url: base + "/fail", format: "cloudevents", name: "a" }, t("1"));
n.enqueue({ url: base + "/hold", format: "slack", name: "b" }, t("2"));
while (requests < 2) await new Promise(ok => setTimeout(ok, 10));
await new Promise(ok => setTimeout(ok, 100));
process.on("beforeExit", () => console.log(JSON.stringify({ reasons })));
if (process.env.NOTIFY_STOP === "true") n.stop();
server.close();
`;

function runNode(script: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", code => resolve({ code, stdout, stderr }));
  });
}
