// Conformance with the tools that call the gate, run as their own Go code (Flagger's webhook
// caller, Argo Rollouts' web and Prometheus providers), with the YAML of
// docs/progressive-delivery.md exactly as documented, and a real Prometheus scraping the
// controller. Only addresses change: the in-cluster Service names become loopback URLs.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { kubectl } from "../../local-cluster/control-plane";
import { docExample } from "../harness/docs";
import { startPrometheus, type Prometheus } from "../harness/prometheus";
import { useEngineSuite } from "../harness/suite";
import { scriptOutput } from "../../local-cluster/tools";
import { stringify } from "yaml";

const doc = "docs/progressive-delivery.md";
const env = useEngineSuite("pd", { serve: true });
let prometheus: Prometheus;
let dir: string;
let clients: string;

type Metric = { provider: { web?: { url: string }; prometheus?: { query: string } } };
type Template = { spec: { metrics: Metric[] } };
const canary = docExample<{ spec: { analysis: { webhooks: { url: string }[] } } }>(doc, "flagger-canary");
const webTemplate = docExample<Template>(doc, "argo-web");
const promTemplate = docExample<Template>(doc, "argo-prometheus");
const webMetric = webTemplate.spec.metrics[0]!;
const promMetric = promTemplate.spec.metrics[0]!;
const job = docExample<{ metadata: { namespace: string }; spec: { template: { spec: { containers: { command: string[]; env: { value: string }[] }[] } } } }>(doc, "wait-job");

/** The documented in-cluster gate URL, pointed at this test's gate and namespace. */
const local = (url: string) => {
  const [, , ns, stageset, stage] = new URL(url).pathname.split("/");
  expect(ns).toBe("shop"); // the examples all speak of namespace "shop"
  return `${env.running.serving!.gate.url}/gate/${env.ns}/${stageset}/${stage}`;
};
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, stringify(content));
  return path;
};
function run(args: string[]): Promise<{ code: number; out: Record<string, unknown> }> {
  return new Promise(ok => execFile(clients, args, (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: JSON.parse(stdout.trim() || `{"stderr":${JSON.stringify(stderr)}}`) })));
}
// Whole documented objects go to the clients, decoded strictly into Flagger's and Argo's types.
const flagger = () => run(["flagger", "--canary-file", file("canary.yaml", canary), "--url", local(canary.spec.analysis.webhooks[0]!.url)]);
const argoWeb = () => run(["argo-web", "--template-file", file("web.yaml", webTemplate), "--url", local(webMetric.provider.web!.url)]);
const promQuery = () => promMetric.provider.prometheus!.query.replace('namespace="shop"', `namespace="${env.ns}"`);
const argoProm = () => {
  const template = { ...promTemplate, spec: { metrics: [{ ...promMetric, provider: { prometheus: { ...promMetric.provider.prometheus, query: promQuery() } } }] } };
  return run(["argo-prometheus", "--template-file", file("prom.yaml", template), "--url", prometheus.url]);
};
const scraped = async () => (await prometheus.query(promQuery())).result.map(r => r.value[1]);

const dbConfigMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { schema: "${name}" }\n`;
const markDone = (name: string) => K8s(kind.ConfigMap).Apply({ metadata: { name, namespace: env.ns }, data: { done: "yes" } }, { force: true });
const gateJSON = async () => (await (await fetch(local(webMetric.provider.web!.url), { headers: { accept: "application/json" } })).json()) as { ready: boolean; phase: string; revision: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "stageset-pd-"));
  clients = join(scriptOutput("scripts/build-gate-clients.sh"), "gate-clients");
  prometheus = await startPrometheus([env.running.serving!.metrics.url]);
}, 900_000); // a cold machine compiles the Go clients first
afterAll(async () => {
  await prometheus?.stop();
});

describe("progressive delivery, as documented", () => {
  let waiter: ChildProcess;
  let waiterExit: Promise<number | null>;

  it("refuses while stage db is not Ready: Flagger waits, Argo measures Failed, the Job keeps polling", async () => {
    await env.artifacts.publish({ namespace: env.ns, name: "db" }, { files: { "db.yaml": dbConfigMap("db-v1") } }, { label: "v1" });
    await env.artifacts.publish({ namespace: env.ns, name: "app" }, { files: { "app.yaml": dbConfigMap("app") } }, { label: "v1" });
    await K8s(StageSet).Apply({
      metadata: { name: "shop-release", namespace: env.ns },
      spec: { stages: [{ name: "db", sourceRef: { name: "db" }, readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "has(data.done)" }] } }, { name: "app", sourceRef: { name: "app" } }] },
    });
    await eventually(gateJSON, j => j.phase === "Waiting", { what: "stage db Waiting" });

    const refused = await flagger();
    expect(refused).toEqual({ code: 1, out: { ok: false, error: "not ready\n" } });
    expect((await argoWeb()).out).toMatchObject({ phase: "Failed", value: expect.stringContaining('"ready":false') });
    await eventually(scraped, v => v[0] === "0", { what: "Prometheus to scrape 0", intervalMs: 500 });
    expect((await argoProm()).out).toMatchObject({ phase: "Failed", value: "[0]" });

    const [, , script] = job.spec.template.spec.containers[0]!.command;
    waiter = spawn("sh", ["-c", script!], { env: { ...process.env, GATE: local(job.spec.template.spec.containers[0]!.env[0]!.value) }, stdio: "ignore" });
    waiterExit = new Promise(ok => waiter.once("exit", code => ok(code)));
    await new Promise(ok => setTimeout(ok, 3000));
    expect(waiter.exitCode).toBeNull();
  });

  it("confirms once stage db is Ready at the pinned revision", async () => {
    await markDone("db-v1");
    await eventually(gateJSON, j => j.ready, { what: "stage db Ready" });
    expect(await flagger()).toEqual({ code: 0, out: { ok: true } });
    expect((await argoWeb()).out).toMatchObject({ phase: "Successful" });
    await eventually(scraped, v => v[0] === "1", { what: "Prometheus to scrape 1", intervalMs: 500 });
    expect((await argoProm()).out).toMatchObject({ phase: "Successful", value: "[1]" });
    expect(await waiterExit).toBe(0);
    // The documented Job is a valid Job for the API server.
    const manifest = stringify({ ...job, metadata: { ...job.metadata, namespace: env.ns } });
    expect(kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["apply", "--server-side", "--dry-run=server", "-f", "-"], manifest)).toMatch(/job.batch\/wait-for-stage-db serverside-applied/);
  });

  it("refuses again while a new revision of stage db rolls", async () => {
    await env.artifacts.publish({ namespace: env.ns, name: "db" }, { files: { "db.yaml": dbConfigMap("db-v2") } }, { label: "v2" });
    await eventually(gateJSON, j => j.revision.startsWith("v2@"), { what: "revision v2 pinned" });
    expect((await flagger()).code).toBe(1);
    expect((await argoWeb()).out).toMatchObject({ phase: "Failed" });
    await eventually(scraped, v => v[0] === "0", { what: "Prometheus to scrape 0 again", intervalMs: 500 });
    expect((await argoProm()).out).toMatchObject({ phase: "Failed" });
  });
});
