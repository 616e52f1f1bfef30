import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { GateWatch } from "./gate-watch";

const servers: Server[] = [];
const watches: GateWatch[] = [];

/** A gate on loopback: answers from `open` (path → ready), counting the questions; `broken` drops every connection instead. */
async function gate(open: Set<string>, state = { broken: false, asked: 0 }): Promise<{ url: string; state: typeof state }> {
  const server = createServer((req, res) => {
    state.asked++;
    if (state.broken) return void req.socket.destroy();
    const ready = open.has(req.url!.replace("/gate/", ""));
    res.writeHead(ready ? 200 : 403).end(ready ? "ready\n" : "not ready\n");
  });
  servers.push(server);
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state };
}

function watch(url: string, sweepMs = 60_000): { gates: GateWatch; changes: string[] } {
  const changes: string[] = [];
  const gates = new GateWatch({ gateUrl: url, changed: key => changes.push(key), sweepMs });
  watches.push(gates);
  return { gates, changes };
}

afterEach(() => {
  for (const w of watches.splice(0)) w.stop();
  for (const s of servers.splice(0)) s.close();
});

describe("GateWatch: the gate's answer for each stage the overview shows", () => {
  it("asks each stage of a StageSet it is told of, and says when the answers for a StageSet changed", async () => {
    const open = new Set(["shop/web/db"]);
    const { url } = await gate(open);
    const { gates, changes } = watch(url);
    gates.track("shop/web", ["db", "app"]);
    await expect.poll(() => changes, { timeout: 10_000 }).toEqual(["shop/web"]);
    expect([gates.answer("shop/web", "db"), gates.answer("shop/web", "app")]).toEqual([200, 403]);
    // The StageSet changed and the gate opens the next stage: asked again, the change told once more.
    open.add("shop/web/app");
    gates.track("shop/web", ["db", "app"]);
    await expect.poll(() => gates.answer("shop/web", "app"), { timeout: 10_000 }).toBe(200);
    expect(changes).toEqual(["shop/web", "shop/web"]);
    gates.untrack("shop/web");
    expect(gates.answer("shop/web", "db")).toBeUndefined();
  });

  it("forgets every answer when the gate stops answering, and then asks one question at a time, not one per stage", async () => {
    const { url, state } = await gate(new Set(["a/x0/s0"]));
    const { gates, changes } = watch(url);
    const keys = Array.from({ length: 20 }, (_, i) => `a/x${i}`);
    for (const key of keys) gates.track(key, ["s0", "s1", "s2"]);
    await expect.poll(() => state.asked, { timeout: 10_000 }).toBe(60);
    expect(gates.answer("a/x0", "s0")).toBe(200);
    state.broken = true;
    // Every StageSet changes at once (and is asked about again 2 s later): the questions already under way (8 at a time) fail,
    // and from then on one at a time: a dozen questions at most, not the 120 of two rounds.
    for (const key of keys) gates.track(key, ["s0", "s1", "s2"]);
    await expect.poll(() => gates.answer("a/x0", "s0"), { timeout: 10_000 }).toBeUndefined();
    expect(changes.filter(k => k === "a/x0")).toHaveLength(2);
    await new Promise(ok => setTimeout(ok, 3_000));
    expect(state.asked - 60).toBeGreaterThanOrEqual(1);
    expect(state.asked - 60).toBeLessThanOrEqual(12);
    // Back: the next question is answered and the stage shows its answer again.
    state.broken = false;
    gates.track("a/x0", ["s0", "s1", "s2"]);
    await expect.poll(() => gates.answer("a/x0", "s0"), { timeout: 10_000 }).toBe(200);
  });
});
