// The gate and the gauge on a real control plane, asked the way their users ask: plain HTTP
// (GET, HEAD, POST, JSON mode), `curl -fsS` as a Job would, and a real Prometheus scraping
// /metrics with the documented query. A stage is Ready only at the revision pinned now.
import { execFile } from "node:child_process";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { requestedAtAnnotation } from "../../capabilities/engine";
import { eventually } from "../harness/cluster";
import { startPrometheus, type Prometheus } from "../harness/prometheus";
import { configMapIn, useEngineSuite } from "../harness/suite";

const env = useEngineSuite("gate", { serve: true });
let prometheus: Prometheus;
const gate = () => env.running.serving!.gate.url;
const metricsURL = () => `${env.running.serving!.metrics.url}/metrics`;

beforeAll(async () => {
  prometheus = await startPrometheus([env.running.serving!.metrics.url]);
});
afterAll(async () => {
  await prometheus?.stop();
});

/** Stage "db" is Ready once its ConfigMap has data.done: the test decides when. */
const dbConfigMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { schema: "${name}" }\n`;
const appConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\ndata: { color: blue }\n";
const markDone = (name: string) => K8s(kind.ConfigMap).Apply({ metadata: { name, namespace: env.ns }, data: { done: "yes" } }, { force: true });

const path = (stage: string) => `/gate/${env.ns}/shop/${stage}`;
const status = async (stage: string, init: RequestInit = {}) => (await fetch(gate() + path(stage), init)).status;
const asJSON = async (stage: string) => (await (await fetch(gate() + path(stage), { headers: { accept: "application/json" } })).json()) as Record<string, unknown>;
const curl = (stage: string) => new Promise<number>(ok => execFile("curl", ["-fsS", "-o", "/dev/null", gate() + path(stage)], err => ok(err ? ((err as { code?: number }).code ?? 1) : 0)));
const promReady = async (stage: string) => (await prometheus.query(`max(stageset_stage_ready{namespace="${env.ns}",stageset="shop",stage="${stage}"})`)).result.map(r => r.value[1]);
const scrape = async () => await (await fetch(metricsURL())).text();
const sample = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

describe("the gate", () => {
  it("holds while a stage waits, opens when it is Ready, and closes again while a new revision rolls", async () => {
    await env.artifacts.publish({ namespace: env.ns, name: "db" }, { files: { "db.yaml": dbConfigMap("db-v1") } }, { label: "v1" });
    await env.artifacts.publish({ namespace: env.ns, name: "app" }, { files: { "app.yaml": appConfigMap } }, { label: "v1" });
    await K8s(StageSet).Apply({
      metadata: { name: "shop", namespace: env.ns },
      spec: {
        stages: [
          { name: "db", sourceRef: { name: "db" }, readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "has(data.done)" }] } },
          { name: "app", sourceRef: { name: "app" } },
        ],
      },
    });
    await eventually(() => asJSON("db"), j => j.phase === "Waiting", { what: "the gate to see stage db Waiting" });

    // Closed: every way of asking says so, and nothing else leaks.
    expect(await status("db")).toBe(403);
    expect(await status("db", { method: "POST", body: JSON.stringify({ name: "podinfo", phase: "Progressing" }), headers: { "content-type": "application/json" } })).toBe(403);
    expect(await status("db", { method: "HEAD" })).toBe(403);
    expect(await status("nope")).toBe(403);
    expect(await curl("db")).not.toBe(0);
    const closed = await asJSON("db");
    expect(closed).toEqual({ ready: false, namespace: env.ns, stageset: "shop", stage: "db", phase: "Waiting", revision: expect.stringMatching(/^v1@sha256:/), appliedRevision: "" });
    await eventually(() => promReady("db"), v => v[0] === "0", { what: "Prometheus to scrape 0 for stage db", timeoutMs: 30_000, intervalMs: 500 });

    // Open once the stage is Ready at the pinned revision.
    await markDone("db-v1");
    await eventually(() => status("db"), s => s === 200, { what: "the gate to open for db" });
    expect(await status("db", { method: "POST", body: "{}" })).toBe(200);
    expect(await curl("db")).toBe(0);
    expect(await asJSON("db")).toMatchObject({ ready: true, phase: "Ready" });
    await eventually(() => promReady("db"), v => v[0] === "1", { what: "Prometheus to scrape 1 for stage db", timeoutMs: 30_000, intervalMs: 500 });
    await eventually(() => status("app"), s => s === 200, { what: "the gate to open for app" });

    // A new revision: the stage that was Ready at v1 is not Ready while v2 rolls.
    await env.artifacts.publish({ namespace: env.ns, name: "db" }, { files: { "db.yaml": dbConfigMap("db-v2") } }, { label: "v2" });
    const rolling = await eventually(() => asJSON("db"), j => String(j.revision).startsWith("v2@"), { what: "the gate to see revision v2 pinned" });
    expect(rolling.ready).toBe(false);
    expect(await status("db")).toBe(403);
    expect(await curl("db")).not.toBe(0);
    await eventually(() => promReady("db"), v => v[0] === "0", { what: "Prometheus to scrape 0 while v2 rolls", timeoutMs: 30_000, intervalMs: 500 });
    await markDone("db-v2");
    await eventually(() => status("db"), s => s === 200, { what: "the gate to open for db at v2" });
    expect(await asJSON("db")).toMatchObject({ ready: true, revision: expect.stringMatching(/^v2@/) });
  });

  it("counts the engine's work, corrects drift, and drops the series of removed stages and StageSets", async () => {
    // db-v1 was replaced by db-v2: pruned when the v2 run finished.
    const before = await eventually(scrape, t => sample(t, "stageset_objects_pruned_total") === 1, { what: "one object pruned" });
    expect(sample(before, `stageset_stage_ready{namespace="${env.ns}",stageset="shop",stage="app"}`)).toBe(1);
    expect(sample(before, 'stageset_reconcile_total{result="success"}')).toBeGreaterThan(0);
    expect(sample(before, "stageset_stage_applies_total")).toBeGreaterThanOrEqual(3);
    expect(sample(before, "stageset_objects_applied_total")).toBeGreaterThanOrEqual(3);
    expect(sample(before, "stageset_artifact_fetch_bytes_total")).toBeGreaterThan(0);
    expect(sample(before, "stageset_health_wait_duration_seconds_count")).toBeGreaterThanOrEqual(3);

    // Someone edits a field the release owns; a resync of the same revision sets it back.
    await K8s(kind.ConfigMap, { name: "app", namespace: env.ns }).Patch([{ op: "replace", path: "/data/color", value: "red" }]);
    expect((await configMapIn(env.ns, "app"))?.data?.color).toBe("red");
    await K8s(StageSet, { name: "shop", namespace: env.ns }).Patch([{ op: "add", path: "/metadata/annotations", value: { [requestedAtAnnotation]: "drift-1" } }]);
    await eventually(() => configMapIn(env.ns, "app"), cm => cm?.data?.color === "blue", { what: "the drifted field set back" });
    await eventually(scrape, t => sample(t, "stageset_drift_corrected_total") === 1, { what: "one drift correction counted" });

    // Removing a stage removes its series; deleting the StageSet removes them all.
    const ss = await K8s(StageSet).InNamespace(env.ns).Get("shop");
    await K8s(StageSet).Apply({ metadata: { name: "shop", namespace: env.ns }, spec: { ...ss.spec!, stages: ss.spec!.stages.slice(0, 1) } });
    await eventually(scrape, t => !t.includes(`stage="app"`) && t.includes(`stage="db"`), { what: "the app series gone, db kept" });
    expect(await status("app")).toBe(403);
    await K8s(StageSet).InNamespace(env.ns).Delete("shop");
    await eventually(scrape, t => !t.includes(`namespace="${env.ns}"`), { what: "every series of the deleted StageSet gone" });
    expect(await status("db")).toBe(403);
  });
});
