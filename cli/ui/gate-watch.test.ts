import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { GateWatch } from "./gate-watch";

const servers: Server[] = [];
const watches: GateWatch[] = [];

interface GateState {
  /** Drop every connection (after delayMs) instead of answering. */
  broken: boolean;
  delayMs: number;
  /** Questions asked, each with how many were in flight when it arrived. */
  arrivals: { path: string; inFlight: number }[];
  inFlight: Map<string, number>;
}

/** A gate on loopback answering from `open` (the stage paths that are Ready). */
async function gate(open: Set<string>): Promise<{ url: string; state: GateState }> {
  const state: GateState = { broken: false, delayMs: 0, arrivals: [], inFlight: new Map() };
  let inFlight = 0;
  const server = createServer((req, res) => {
    const path = req.url!.replace("/gate/", "");
    const key = path.split("/").slice(0, 2).join("/");
    state.arrivals.push({ path, inFlight: ++inFlight });
    state.inFlight.set(key, (state.inFlight.get(key) ?? 0) + 1);
    const ready = open.has(path);
    const broken = state.broken;
    setTimeout(() => {
      inFlight--;
      state.inFlight.set(key, state.inFlight.get(key)! - 1);
      if (broken) return void req.socket.destroy();
      res.writeHead(ready ? 200 : 403).end(ready ? "ready\n" : "not ready\n");
    }, state.delayMs);
  });
  servers.push(server);
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state };
}

function watch(url: string, opts: { askAgainMs?: number } = {}): { gates: GateWatch; changes: string[] } {
  const changes: string[] = [];
  const gates = new GateWatch({ gateUrl: url, changed: key => changes.push(key), sweepMs: 600_000, ...opts });
  watches.push(gates);
  return { gates, changes };
}

const poll = { timeout: 10_000 };

afterEach(() => {
  for (const w of watches.splice(0)) w.stop();
  for (const s of servers.splice(0)) s.close();
});

describe("GateWatch: the gate's answer for each stage the overview shows", () => {
  it("asks each stage, says when a StageSet's answers changed, asks a changed StageSet again shortly after, and drops a removed stage's answer", async () => {
    const open = new Set(["shop/web/db"]);
    const { url, state } = await gate(open);
    const { gates, changes } = watch(url, { askAgainMs: 1_000 });
    gates.track("shop/web", ["db", "app"], "1", false);
    await expect.poll(() => changes, poll).toEqual(["shop/web"]);
    expect([gates.answer("shop/web", "db"), gates.answer("shop/web", "app")]).toEqual([200, 403]);
    // A change the gate has not caught up with yet: the answer right after it is still "closed", the one a second later "open".
    gates.track("shop/web", ["db", "app"], "2", true);
    await expect.poll(() => state.arrivals.length, poll).toBe(4);
    open.add("shop/web/app");
    await expect.poll(() => gates.answer("shop/web", "app"), poll).toBe(200);
    expect(state.arrivals.length).toBe(6);
    expect(changes).toEqual(["shop/web", "shop/web"]);
    // The same version again (a relist) asks nothing.
    gates.track("shop/web", ["db", "app"], "2", true);
    await new Promise(ok => setTimeout(ok, 500));
    expect(state.arrivals.length).toBe(6);
    // A stage removed from the StageSet: its answer is gone at once.
    gates.track("shop/web", ["db"], "3", true);
    expect([gates.answer("shop/web", "db"), gates.answer("shop/web", "app")]).toEqual([200, undefined]);
  });

  it("never asks about one StageSet twice at once: a change during a question is asked after it, and the earlier answer does not stand", async () => {
    const open = new Set<string>();
    const { url, state } = await gate(open);
    state.delayMs = 300;
    const { gates } = watch(url, { askAgainMs: 600_000 });
    gates.track("shop/web", ["app"], "1", false);
    await expect.poll(() => state.arrivals.length, poll).toBe(1);
    open.add("shop/web/app");
    gates.track("shop/web", ["app"], "2", true);
    gates.track("shop/web", ["app"], "3", true);
    await expect.poll(() => gates.answer("shop/web", "app"), poll).toBe(200);
    expect(state.arrivals.map(a => a.path)).toEqual(["shop/web/app", "shop/web/app"]);
    expect(state.arrivals.map(a => a.inFlight)).toEqual([1, 1]);
  });

  it("after three failures in a row forgets every answer and asks one StageSet at a time, until the gate answers again", async () => {
    const { url, state } = await gate(new Set(["a/x0/s0"]));
    state.delayMs = 50;
    const { gates, changes } = watch(url, { askAgainMs: 600_000 });
    const keys = Array.from({ length: 20 }, (_, i) => `a/x${i}`);
    for (const key of keys) gates.track(key, ["s0", "s1", "s2"], "1", false);
    await expect.poll(() => keys.every(k => gates.answer(k, "s2") !== undefined), poll).toBe(true);
    expect(gates.answer("a/x0", "s0")).toBe(200);
    expect(Math.max(...state.arrivals.map(a => a.inFlight))).toBe(8);

    state.broken = true;
    const before = state.arrivals.length;
    for (const key of keys) gates.track(key, ["s0", "s1", "s2"], "2", true);
    // Every StageSet asked once (its first stage fails, the rest of it is not asked), none answered any more.
    await expect.poll(() => state.arrivals.length - before, poll).toBe(keys.length);
    await expect.poll(() => keys.every(k => gates.answer(k, "s0") === undefined), poll).toBe(true);
    expect(changes.filter(k => k === "a/x0").length).toBe(2);
    // Up to 8 at a time until the third failure is known (at most 10 asked by then: 8, then one more after each of the
    // first two failures); after them, one at a time.
    expect(state.arrivals.slice(before + 10).map(a => a.inFlight)).toEqual(Array(keys.length - 10).fill(1));

    state.broken = false;
    const back = state.arrivals.length;
    for (const key of keys) gates.track(key, ["s0", "s1", "s2"], "3", true);
    await expect.poll(() => gates.answer("a/x0", "s0"), poll).toBe(200);
    await expect.poll(() => keys.every(k => gates.answer(k, "s2") === 403), poll).toBe(true);
    // Answering again: more than one at a time once more.
    expect(Math.max(...state.arrivals.slice(back).map(a => a.inFlight))).toBeGreaterThan(1);
  });
});
