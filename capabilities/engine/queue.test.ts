import { describe, expect, it } from "vitest";
import { WorkQueue, type Outcome } from "./queue";

const sleep = (ms: number) => new Promise(ok => setTimeout(ok, ms));
const opts = { concurrency: 2, baseBackoffMs: 20, maxBackoffMs: () => 1000, random: () => 0.5 };

describe("WorkQueue", () => {
  it("never runs one key twice at once, and runs it once more if triggered meanwhile", async () => {
    let running = 0, maxRunning = 0, runs = 0;
    const q = new WorkQueue(async () => {
      running++; runs++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(20);
      running--;
      return { kind: "stalled" };
    }, opts);
    q.add("a");
    await sleep(5);
    q.add("a");
    q.add("a");
    await sleep(80);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
    q.stop();
  });

  it("looks again within the hour at a key that asks to wait a month (no timer overflow, which would fire at once)", async () => {
    let runs = 0;
    const q = new WorkQueue(async () => (runs++, { kind: "requeue", afterMs: 30 * 24 * 3_600_000 }), opts);
    q.add("far");
    await sleep(100);
    expect(runs).toBe(1);
    expect(q.dueIn("far")).toBeGreaterThan(59 * 60_000);
    expect(q.dueIn("far")).toBeLessThanOrEqual(60 * 60_000);
    q.stop();
  });

  it("bounds concurrent runs across keys", async () => {
    let running = 0, maxRunning = 0;
    const q = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(15);
      running--;
      return { kind: "stalled" };
    }, opts);
    for (const k of ["a", "b", "c", "d", "e"]) q.add(k);
    await sleep(100);
    expect(maxRunning).toBe(2);
    q.stop();
  });

  it("backs off exponentially on failures and resets after a success", async () => {
    const times: number[] = [];
    const outcomes: Outcome[] = [{ kind: "retry", error: "x" }, { kind: "retry", error: "x" }, { kind: "retry", error: "x" }, { kind: "stalled" }];
    const q = new WorkQueue(async () => {
      times.push(Date.now());
      return outcomes.shift()!;
    }, opts);
    q.add("a");
    await sleep(250);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(3);
    // 20, 40, 80 ms (jitter factor 1.0 with random 0.5), allowing for timer slack
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
    q.stop();
  });

  it("requeues and resyncs after the delay the run asked for", async () => {
    let runs = 0;
    const q = new WorkQueue(async () => (++runs === 1 ? { kind: "requeue", afterMs: 30 } : { kind: "resync", afterMs: 10_000 }), opts);
    q.add("a");
    await sleep(10);
    expect(runs).toBe(1);
    await sleep(60);
    expect(runs).toBe(2);
    expect(q.dueIn("a")).toBeGreaterThan(9000);
    q.stop();
  });

  it("a trigger runs a key now even while it waits on a timer", async () => {
    let runs = 0;
    const q = new WorkQueue(async () => (++runs, { kind: "resync", afterMs: 10_000 }), opts);
    q.add("a");
    await sleep(10);
    q.add("a");
    await sleep(10);
    expect(runs).toBe(2);
    q.stop();
  });

  it("forgets a key whose object is gone", async () => {
    const q = new WorkQueue(async () => ({ kind: "forget" }), opts);
    q.add("a");
    await sleep(10);
    expect(q.size).toBe(0);
    q.stop();
  });
});
