// Typed actions on the real control plane: a migration Job before the app, an http smoke
// test after a stage, an onFailure hook, and the SSRF guard refusing loopback and metadata
// destinations with a reason that says why. The engine resolves "smoke.test" (allowlisted)
// and "sneaky.test" (not) to loopback, where the test's recording server listens.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StageSet, type ActionRecord, type Stage } from "../../capabilities/api";
import { systemLookup } from "../../capabilities/actions";
import { eventually } from "../harness/cluster";
import { configMapIn, useEngineSuite } from "../harness/suite";

const lookup = async (host: string) => (host === "smoke.test" || host === "sneaky.test" ? [{ address: "127.0.0.1", family: 4 }] : systemLookup(host));
const env = useEngineSuite("actions", { actionAllowlist: ["smoke.test"], lookup });

let server: Server;
let port = 0;
const hits = new Map<string, number>();
const received = new Map<string, { authorization?: string; body: string }>();
const flaky = new Map<string, number>();
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? "";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    let body = "";
    req.on("data", d => (body += d));
    req.on("end", () => received.set(path, { authorization: req.headers.authorization, body }));
    if (path.startsWith("/secret-body")) return void res.writeHead(500).end("aws_secret_access_key=SUPERSECRET-4711");
    if (path.startsWith("/redirect")) return void res.writeHead(302, { location: `http://127.0.0.1:${port}/inside` }).end();
    // /flaky-N fails its first N requests, then answers 200.
    const m = /^\/flaky-(\d+)/.exec(path);
    if (m && (flaky.set(path, (flaky.get(path) ?? 0) + 1).get(path) ?? 0) <= Number(m[1])) return void res.writeHead(500).end("warming up");
    res.writeHead(200).end("ok");
  });
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>(ok => server.close(() => ok())));

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { k: v }\n`;
const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
const readyCondition = (ss: StageSet) => ss.status?.conditions?.find(c => c.type === "Ready");
const ledger = (ss: StageSet, name: string) => ss.status?.actions?.find(a => a.name === name) as ActionRecord | undefined;
const stageOf = (ss: StageSet, name: string) => ss.status?.stages?.find(s => s.name === name);
const smoke = (path: string) => `http://smoke.test:${port}${path}`;

/** A StageSet `name` whose stages each hold one ConfigMap `<name>-<stage>`. */
async function release(name: string, stages: Omit<Stage, "sourceRef">[]): Promise<void> {
  for (const s of stages) await env.artifacts.publish({ namespace: env.ns, name: `${name}-${s.name}` }, { files: { [`${s.name}.yaml`]: cm(`${name}-${s.name}`) } });
  await K8s(StageSet).Apply({ metadata: { name, namespace: env.ns }, spec: { stages: stages.map(s => ({ ...s, sourceRef: { name: `${name}-${s.name}` } })) } });
}

describe("actions", () => {
  it("runs a migration Job in the app stage's pre before any app object exists, then cleans it up", async () => {
    const job = { template: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "registry.invalid/migrate:1" }] } } } } };
    await release("mig", [{ name: "app", actions: { pre: [{ name: "migrate", job, timeout: "2m" }] } }]);
    const running = await eventually(() => read("mig"), ss => ledger(ss, "migrate")?.phase === "Running", { what: "the migration running" });
    expect(stageOf(running, "app")?.message).toMatch(/Running pre action migrate/);
    expect(await configMapIn(env.ns, "mig-app")).toBeUndefined();
    const done = await eventually(() => read("mig"), ready, { what: "release Ready", timeoutMs: 60_000 });
    const rec = ledger(done, "migrate")!;
    expect(rec).toMatchObject({ phase: "Succeeded", attempts: 1, message: expect.stringMatching(/^Job .* completed$/) });
    const app = (await configMapIn(env.ns, "mig-app"))!;
    expect(Date.parse(String(app.metadata!.creationTimestamp))).toBeGreaterThanOrEqual(Math.floor(Date.parse(rec.finishedAt!) / 1000) * 1000);
    const jobs = await K8s(kind.Job).InNamespace(env.ns).Get();
    expect(jobs.items.filter(j => j.metadata?.labels?.["stageset.dev/action"] === "migrate" && !j.metadata?.deletionTimestamp)).toEqual([]);
  });

  it("applies, patches, waits on and deletes objects outside the inventory", async () => {
    const extra = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "verbs-extra" }, data: { from: "action" } };
    const target = { apiVersion: "v1", kind: "ConfigMap", name: "verbs-extra" };
    await release("verbs", [
      {
        name: "a",
        actions: {
          pre: [{ name: "seed", apply: { manifests: [extra] } }],
          post: [
            { name: "label", patch: { target, type: "merge", patch: { metadata: { labels: { patched: "yes" } } } } },
            { name: "until-labelled", wait: { until: { ...target, expr: "has(metadata.labels) && metadata.labels.patched == 'yes'" } }, timeout: "30s" },
          ],
        },
      },
      { name: "b", actions: { pre: [{ name: "drop", delete: { target } }], post: [{ name: "drop-again", delete: { target } }] } },
    ]);
    const done = await eventually(() => read("verbs"), ready, { what: "release Ready", timeoutMs: 60_000 });
    expect(["seed", "label", "until-labelled", "drop", "drop-again"].map(n => ledger(done, n)?.phase)).toEqual(Array(5).fill("Succeeded"));
    expect(ledger(done, "drop-again")?.message).toMatch(/already gone/);
    expect(await configMapIn(env.ns, "verbs-extra")).toBeUndefined();
  });

  it("sends headers and a body from Secrets, and runs a Job from the stage's artifact", async () => {
    await K8s(kind.Secret).Apply({ metadata: { name: "hook", namespace: env.ns }, stringData: { token: "t0ken", body: '{"deploy":"shop"}' } });
    await env.artifacts.publish({ namespace: env.ns, name: "sec-app" }, {
      files: {
        "app.yaml": cm("sec-app"),
        "jobs/migrate.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata: { name: ignored }\nspec:\n  backoffLimit: 0\n  template: { spec: { restartPolicy: Never, containers: [{ name: m, image: registry.invalid/m:1 }] } }\n",
      },
    });
    const secretRef = (key: string) => ({ secretKeyRef: { name: "hook", key } });
    await K8s(StageSet).Apply({
      metadata: { name: "sec", namespace: env.ns },
      spec: {
        stages: [
          {
            name: "app",
            sourceRef: { name: "sec-app" },
            path: ".",
            actions: {
              pre: [{ name: "migrate", job: { path: "jobs/migrate.yaml" } }],
              post: [{ name: "notify", http: { method: "POST", url: smoke("/notify/sec"), headers: [{ name: "Authorization", valueFrom: secretRef("token") }], bodyFrom: secretRef("body") } }],
            },
          },
        ],
      },
    });
    const done = await eventually(() => read("sec"), ready, { what: "release Ready", timeoutMs: 60_000 });
    expect(ledger(done, "migrate")?.message).toMatch(/^Job .* completed$/);
    expect(received.get("/notify/sec")).toEqual({ authorization: "t0ken", body: '{"deploy":"shop"}' });
  });

  it("fails a stage whose Job fails, with the Job's reason, and applies nothing", async () => {
    const job = { template: { spec: { backoffLimit: 0, activeDeadlineSeconds: 1, template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "registry.invalid/never:1" }] } } } } };
    await release("jobfail", [{ name: "app", actions: { pre: [{ name: "migrate", job }] } }]);
    const ss = await eventually(() => read("jobfail"), s => readyCondition(s)?.reason === "ActionFailed", { what: "ActionFailed", timeoutMs: 60_000 });
    expect(readyCondition(ss)?.message).toMatch(/pre action migrate failed after 1 attempt\(s\): Job \S+ failed: .*DeadlineExceeded/);
    expect(await configMapIn(env.ns, "jobfail-app")).toBeUndefined();
  });

  it("holds the next stage until a post http smoke test passes, retrying it with backoff", async () => {
    await release("smk", [{ name: "db", actions: { post: [{ name: "smoke", http: { method: "GET", url: smoke("/flaky-1/smk") }, retries: 2 }] } }, { name: "app" }]);
    const done = await eventually(() => read("smk"), ready, { what: "release Ready", timeoutMs: 60_000 });
    expect(hits.get("/flaky-1/smk")).toBe(2); // one 500, then 200: run again only because it failed
    const rec = ledger(done, "smoke")!;
    expect(rec).toMatchObject({ phase: "Succeeded", attempts: 2, message: expect.stringMatching(/^HTTP 200/) });
    expect(Date.parse(stageOf(done, "app")!.lastAppliedTime!)).toBeGreaterThanOrEqual(Date.parse(rec.finishedAt!));
    // A resync of the same revision does not run it again.
    await K8s(StageSet, { name: "smk", namespace: env.ns }).Patch([{ op: "add", path: "/metadata/annotations", value: { "reconcile.fluxcd.io/requestedAt": "again" } }]);
    await eventually(() => read("smk"), ss => ready(ss) && ss.status?.lastHandledReconcileAt === "again", { what: "the requested run done" });
    expect(hits.get("/flaky-1/smk")).toBe(2);
  });

  it("calls onFailure once when the stage fails", async () => {
    const readyChecks = { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "false", failed: "true" }] };
    await release("bad", [{ name: "broken", readyChecks, actions: { onFailure: [{ name: "page", http: { method: "POST", url: smoke("/page/bad"), body: "{}" } }] } }]);
    const failed = await eventually(() => read("bad"), ss => ledger(ss, "page")?.phase === "Succeeded", { what: "the onFailure action recorded" });
    expect(readyCondition(failed)?.reason).toBe("HealthCheckFailed");
    await new Promise(ok => setTimeout(ok, 3000)); // retries of the failed stage do not page again
    expect(hits.get("/page/bad")).toBe(1);
  });

  it.each([
    { name: "loopback", url: () => `http://127.0.0.1:${port}/direct`, why: /loopback/, path: "/direct" },
    { name: "cloud metadata", url: () => "http://169.254.169.254/latest/meta-data/", why: /metadata/ },
    { name: "a redirect to loopback", url: () => smoke("/redirect"), why: /redirect from http:\/\/smoke.test:\d+\/redirect: destination 127.0.0.1 is loopback/, path: "/inside" },
    { name: "a hostname that resolves to loopback", url: () => `http://sneaky.test:${port}/sneaky`, why: /sneaky\.test.*loopback|loopback/, path: "/sneaky" },
  ])("refuses $name before sending anything there, and applies nothing", async ({ name, url, why, path }) => {
    const ssName = `ssrf-${name.replace(/[^a-z]+/g, "-").replace(/-$/, "")}`.slice(0, 40);
    await release(ssName, [{ name: "app", actions: { pre: [{ name: "call", http: { method: "GET", url: url() } }] } }]);
    const ss = await eventually(() => read(ssName), s => readyCondition(s)?.reason === "ActionRefused", { what: "ActionRefused" });
    expect(readyCondition(ss)?.message).toMatch(why);
    expect(readyCondition(ss)?.message).toMatch(/allowlist/);
    expect(ss.status?.conditions?.find(c => c.type === "Stalled")?.status).toBe("True");
    if (path) expect(hits.get(path)).toBeUndefined();
    expect(await configMapIn(env.ns, `${ssName}-app`)).toBeUndefined();
  });

  it("a spec change runs a failed action again; an action that succeeded for the revision does not run twice", async () => {
    const post = (expected: number) => [
      { name: "notify", http: { method: "GET", url: smoke("/respec-notify") } },
      { name: "check", http: { method: "GET", url: smoke("/respec-check"), expectedStatus: [expected] }, retries: 0 },
    ];
    await release("respec", [{ name: "app", actions: { post: post(418) } }]);
    const failed = await eventually(() => read("respec"), s => readyCondition(s)?.reason === "ActionFailed", { what: "the check action failed" });
    expect(ledger(failed, "check")).toMatchObject({ phase: "Failed", attempts: 1 });
    expect(hits.get("/respec-notify")).toBe(1);

    // The user fixes the action's expectation: a new generation, the same revision.
    const ss = await read("respec");
    await K8s(StageSet).Apply({ metadata: { name: "respec", namespace: env.ns }, spec: { stages: [{ ...ss.spec!.stages[0]!, actions: { post: post(200) } }] } });
    const done = await eventually(() => read("respec"), ready, { what: "Ready after the fixed action ran" });
    expect(ledger(done, "check")).toMatchObject({ phase: "Succeeded", attempts: 1 });
    expect(hits.get("/respec-check")).toBe(2);
    expect(hits.get("/respec-notify")).toBe(1); // succeeded for this revision before the change: not run again
  });

  it("never copies a response body into status or Events", async () => {
    await release("leak", [{ name: "app", actions: { post: [{ name: "probe", http: { method: "GET", url: smoke("/secret-body"), expectedStatus: [599] }, retries: 0 }] } }]);
    const ss = await eventually(() => read("leak"), s => readyCondition(s)?.reason === "ActionFailed", { what: "the action failed" });
    expect(readyCondition(ss)?.message).toMatch(/answered 500, expected 599 \(body: 38 bytes, sha256 [0-9a-f]{12}\)/);
    // The Warning that reports the failure (recorded after the status) is the one that could carry the body.
    const leakEvents = async () => (await K8s(kind.CoreEvent).InNamespace(env.ns).Get()).items.filter(e => e.involvedObject?.name === "leak");
    const events = await eventually(leakEvents, evs => evs.some(e => e.reason === "ActionFailed" && /answered 500/.test(e.message ?? "")), { what: "the ActionFailed Event" });
    expect(JSON.stringify(ss.status)).not.toContain("SUPERSECRET");
    expect(JSON.stringify(events)).not.toContain("SUPERSECRET");
  });
});
