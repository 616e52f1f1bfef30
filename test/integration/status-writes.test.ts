// Status writes on the real control plane are preconditioned on the resourceVersion the
// writer last saw, so a controller working from a stale read (a second process, one that was
// paused) cannot overwrite what another wrote, the action ledger included. A change to the
// StageSet's metadata or spec by a user is not such a conflict: the run carries on.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { K8s } from "pepr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { systemLookup } from "../../capabilities/actions";
import { newRun, save, type EngineDeps } from "../../capabilities/engine/run";
import { KubeClient } from "../../capabilities/kube";
import { eventually } from "../harness/cluster";
import { useEngineSuite } from "../harness/suite";

const lookup = async (host: string) => (host === "slow.test" ? [{ address: "127.0.0.1", family: 4 }] : systemLookup(host));
const env = useEngineSuite("status-writes", { actionAllowlist: ["slow.test"], lookup });

let server: Server;
let port = 0;
const hits = new Map<string, number>();
beforeAll(async () => {
  // Answers after 2 s: long enough to change the StageSet while the action is under way.
  server = createServer((req, res) => {
    hits.set(req.url ?? "", (hits.get(req.url ?? "") ?? 0) + 1);
    setTimeout(() => res.writeHead(200).end("ok"), 2000);
  });
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>(ok => server.close(() => ok())));

const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { k: v }\n`;

/** A suspended StageSet (the running engine adds its finalizer and leaves it alone), and a run read from it as the engine would. */
async function staleRun(name: string, client: KubeClient) {
  const apply = (labels?: Record<string, string>) => K8s(StageSet).Apply({ metadata: { name, namespace: env.ns, labels }, spec: { suspend: true, stages: [{ name: "a", sourceRef: { name: "none" } }] } });
  await apply();
  const seen = await eventually(() => read(name), ss => !!ss.metadata?.finalizers?.length, { what: "finalizer added" });
  return { run: newRun({ client } as EngineDeps, { namespace: env.ns, name }, seen), relabel: () => apply({ team: "a" }) };
}

describe("status writes", () => {
  const client = KubeClient.fromDefault();
  afterAll(() => client.close());

  it("refuse to overwrite a status written by someone else since the writer's read (409), and keep that status", async () => {
    const { run: stale } = await staleRun("rival", client);
    // Another writer records an action in the ledger after the stale read ...
    const theirs = { stage: "a", hook: "pre" as const, name: "migrate", revision: "v1@sha256:00", phase: "Running" as const, attempts: 1, startedAt: "2026-01-01T00:00:00Z" };
    await K8s(StageSet).PatchStatus({ metadata: { name: "rival", namespace: env.ns }, status: { actions: [theirs] } });
    // ... so the stale writer's status, which has no such entry, does not land.
    stale.status = { ...stale.status, actions: [] };
    await expect(save(stale)).rejects.toMatchObject({ status: 409 });
    expect((await read("rival")).status?.actions).toEqual([theirs]);
  });

  it("go through when only metadata changed since the writer's read (a label), on the new resourceVersion", async () => {
    const { run, relabel } = await staleRun("labelled", client);
    await relabel();
    run.status = { ...run.status, lastHandledReconcileAt: "marker" };
    await save(run);
    const after = await read("labelled");
    expect(after.status?.lastHandledReconcileAt).toBe("marker");
    expect(run.resourceVersion).toBe(after.metadata?.resourceVersion);
  });

  it("let a release go on when a user labels the StageSet while an action runs: the action runs once", async () => {
    const name = "busy";
    await env.artifacts.publish({ namespace: env.ns, name: `${name}-a` }, { files: { "cm.yaml": cm(name) } });
    const spec = { stages: [{ name: "a", sourceRef: { name: `${name}-a` }, actions: { post: [{ name: "notify", http: { method: "POST", url: `http://slow.test:${port}/${name}` } }] } }] };
    await K8s(StageSet).Apply({ metadata: { name, namespace: env.ns }, spec });
    await eventually(() => read(name), ss => ss.status?.actions?.some(a => a.name === "notify" && a.phase === "Running") ?? false, { what: "notify running" });
    await K8s(StageSet).Apply({ metadata: { name, namespace: env.ns, labels: { touched: "yes" } }, spec });
    const done = await eventually(() => read(name), ready, { what: "Ready" });
    expect(done.status?.actions?.find(a => a.name === "notify")).toMatchObject({ phase: "Succeeded", attempts: 1 });
    expect(hits.get(`/${name}`)).toBe(1);
  });
});
