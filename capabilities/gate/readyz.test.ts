import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMetricsServer, type Listener } from ".";

let synced = false;
let server: Listener;
beforeAll(async () => {
  server = await startMetricsServer("127.0.0.1:0", new Registry(), () => synced);
});
afterAll(() => server.close());

describe("the readiness probe on the metrics listener", () => {
  const cases = [
    { synced: false, method: "GET", status: 503, body: "syncing\n" },
    { synced: true, method: "GET", status: 200, body: "synced\n" },
    { synced: false, method: "HEAD", status: 503, body: "" },
    { synced: true, method: "HEAD", status: 200, body: "" },
  ];
  it.each(cases)("synced=$synced, $method /readyz answers $status", async c => {
    synced = c.synced;
    const res = await fetch(`${server.url}/readyz`, { method: c.method });
    expect(res.status).toBe(c.status);
    expect(await res.text()).toBe(c.body);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
  it("still serves /metrics and refuses other paths", async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${server.url}/ready`)).status).toBe(404);
  });
});
