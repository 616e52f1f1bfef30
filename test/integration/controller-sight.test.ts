// What the controller cannot see, it does not vouch for. Its gate says Ready only on facts it
// holds now: a kind it may list but not watch, a source kind it may not list after a restart,
// or an object judged by CEL that changed while it was down, each keeps (or turns) the gate
// closed; once it can see again, the gate reopens with nothing applied again. The module runs
// through its real Pepr wiring, as its own ServiceAccount with the rights a test grants it.
import { K8s, kind } from "pepr";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StageSet, type Stage } from "../../capabilities/api";
import cfg from "../../package.json";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { kubectl } from "../../local-cluster/control-plane";
import { createTestNamespace, deleteTestNamespace, eventually, serviceAccountKubeconfig } from "../harness/cluster";
import { spawnModule, type ModuleProcess } from "../harness/module-process";
import { gateProbe, type GateProbe } from "../harness/gate-probe";

const group = "sight.stageset.dev";
const role = "stageset-sight-test-controller";
const admin = (args: string[], input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), args, input);
let ns: string;
let artifacts: ArtifactServer;
let module: ModuleProcess | undefined;
let probe: GateProbe;

const widgetCRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
  },
};

/** The controller's own rules as the build ships them, plus what the test says about widgets and sources. */
function applyRole(widgetVerbs: string[], sourceVerbs: string[]): void {
  const rules = [
    ...cfg.pepr.rbac.filter(r => !r.apiGroups.includes("source.toolkit.fluxcd.io")),
    { apiGroups: ["source.toolkit.fluxcd.io"], resources: ["externalartifacts"], verbs: sourceVerbs },
    { apiGroups: ["pepr.dev"], resources: ["*"], verbs: ["*"] }, // Pepr's store, as Pepr's own role grants it
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "patch", "update", "delete"] },
    { apiGroups: [group], resources: ["widgets"], verbs: widgetVerbs },
  ];
  admin(["apply", "--server-side", "--force-conflicts", "-f", "-"], stringify({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: role }, rules }));
}

const allWidgetVerbs = ["get", "list", "watch", "create", "patch", "update", "delete"];
const sourceReads = ["get", "list", "watch"];

beforeAll(async () => {
  ns = await createTestNamespace("sight");
  await K8s(kind.Namespace).Apply({ metadata: { name: "pepr-system" } }); // where Pepr keeps its store
  admin(["apply", "--server-side", "-f", "-"], stringify(widgetCRD));
  admin(["wait", "--for=condition=Established", `crd/widgets.${group}`, "--timeout=60s"]);
  await K8s(kind.ServiceAccount).Apply({ metadata: { name: "controller", namespace: ns } });
  applyRole(allWidgetVerbs, sourceReads);
  const binding = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: role }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [{ kind: "ServiceAccount", name: "controller", namespace: ns }] };
  admin(["apply", "--server-side", "-f", "-"], stringify(binding));
  artifacts = await startArtifactServer();
});

afterAll(async () => {
  await module?.stop();
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
  admin(["delete", "--ignore-not-found", "clusterrole,clusterrolebinding", role]);
  admin(["delete", "--ignore-not-found", "crd", `widgets.${group}`]);
});

async function startModule(): Promise<void> {
  await module?.stop();
  module = await spawnModule({ namespaces: [ns], kubeconfig: serviceAccountKubeconfig(inject("harnessBinDir"), inject("kubeconfig"), { namespace: ns, name: "controller" }), harnessBinDir: inject("harnessBinDir") });
  probe = gateProbe(module.gate, module.metrics, ns);
}

const read = (name: string) => K8s(StageSet).InNamespace(ns).Get(name);
const stageOf = (ss: StageSet, name: string) => ss.status?.stages?.find(s => s.name === name);
const isReady = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) === true;
const resourceVersionOf = (args: string[]) => admin(["get", ...args, "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}"]);

async function release(name: string, stages: Stage[]): Promise<void> {
  await K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec: { stages } });
  await eventually(() => read(name), isReady, { what: `StageSet ${name} Ready`, timeoutMs: 60_000 });
}

/** Every answer of the gate for `ms`: none may be 200. */
async function neverOpenFor(stageset: string, stage: string, ms: number): Promise<number[]> {
  const seen: number[] = [];
  for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 50))) seen.push(await probe.status(stageset, stage).catch(() => 0));
  return seen;
}

describe("what the controller cannot see, it does not vouch for (module wiring, as its own ServiceAccount)", () => {
  it("a kind it may list but not watch turns the stage Degraded and closes the gate, naming why; granting watch reopens it with nothing applied again", async () => {
    applyRole(["get", "list", "create", "patch", "update", "delete"], sourceReads);
    await startModule();
    await artifacts.publish({ namespace: ns, name: "widgets" }, { files: { "w.yaml": `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: gadget }\nspec: { size: 3 }\n` } });
    await K8s(StageSet).Apply({ metadata: { name: "widgets", namespace: ns }, spec: { stages: [{ name: "w", sourceRef: { name: "widgets" } }] } });

    const blind = await eventually(() => read("widgets"), ss => stageOf(ss, "w")?.phase === "Degraded", { what: "stage w Degraded for want of a watch", timeoutMs: 60_000 });
    expect(stageOf(blind, "w")?.message).toMatch(/Widget\/gadget in namespace .*: health unknown, the controller may not watch \/apis\/sight\.stageset\.dev\/v1\/widgets/);
    expect(blind.status?.conditions?.find(c => c.type === "Ready")).toMatchObject({ status: "False", reason: "HealthDegraded" });
    expect(await probe.status("widgets", "w")).toBe(403);
    const appliedAt = resourceVersionOf([`widgets.${group}`, "gadget"]);

    applyRole(allWidgetVerbs, sourceReads);
    await eventually(() => probe.status("widgets", "w"), code => code === 200, { what: "the gate open once the controller may watch widgets", timeoutMs: 60_000 });
    const seeing = await eventually(() => read("widgets"), ss => stageOf(ss, "w")?.phase === "Ready" && isReady(ss), { what: "stage w Ready again" });
    expect(stageOf(seeing, "w")?.message).toMatch(/recovered/);
    expect(resourceVersionOf([`widgets.${group}`, "gadget"])).toBe(appliedAt);
  }, 180_000);

  it("after a restart, a source kind it may not list keeps the gate closed (the recorded pins do not stand in); once it may, the gate opens with nothing applied again", async () => {
    const ss = await read("widgets");
    expect(isReady(ss)).toBe(true); // from the test before: Ready, its gate open
    const appliedAt = resourceVersionOf([`widgets.${group}`, "gadget"]);

    applyRole(allWidgetVerbs, ["get"]);
    await startModule();
    // The StageSet is known (its gate answers 403, not 404) and its status still says Ready throughout.
    const seen = await neverOpenFor("widgets", "w", 6_000);
    expect(seen.filter(code => code !== 403)).toEqual([]); // closed throughout, and every poll answered
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.at(-1)).toBe(403);
    expect(isReady(await read("widgets"))).toBe(true);

    applyRole(allWidgetVerbs, sourceReads);
    await eventually(() => probe.status("widgets", "w"), code => code === 200, { what: "the gate open once the controller may list sources", timeoutMs: 60_000 });
    expect(resourceVersionOf([`widgets.${group}`, "gadget"])).toBe(appliedAt);
  }, 180_000);

  it("after a restart, an object judged by CEL that changed while the controller was down closes the gate, though no event touches it after the restart", async () => {
    const cm = (name: string, v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { v: "${v}" }\n`;
    await artifacts.publish({ namespace: ns, name: "plain" }, { files: { "p.yaml": cm("plain", "1") } });
    const judged = await artifacts.publish({ namespace: ns, name: "judged" }, { files: { "j.yaml": cm("judged", "1") } });
    await release("plain", [{ name: "p", sourceRef: { name: "plain" } }]);
    await release("judged", [{ name: "j", sourceRef: { name: "judged" }, readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "data.v == '1'" }] } }]);
    await eventually(() => probe.status("judged", "j"), code => code === 200, { what: "the gate of judged/j open" });

    await module?.stop();
    admin(["patch", "configmap", "judged", "-n", ns, "--type=merge", "-p", '{"data":{"v":"2"}}']);
    // judged's artifact arrives late after the restart, so plain's stage has had the ConfigMap
    // watch list (keeping only what kstatus reads) before judged's stage is followed.
    artifacts.delay(judged.url, 4_000);
    await startModule();

    // No verdict until the stage is followed again and the object read whole: closed from the start.
    const seen = await neverOpenFor("judged", "j", 6_000);
    expect(seen.filter(code => code !== 403)).toEqual([]); // closed throughout, and every poll answered
    expect(seen.length).toBeGreaterThan(20);
    const degraded = await eventually(() => read("judged"), s => stageOf(s, "j")?.phase === "Degraded", { what: "stage j Degraded" });
    expect(stageOf(degraded, "j")?.message).toMatch(/ConfigMap\/judged in namespace .*: /);
    expect(await probe.status("judged", "j")).toBe(403);
    await eventually(() => probe.status("plain", "p"), code => code === 200, { what: "the gate of plain/p open: its object is healthy" });
  }, 180_000);

  it("after a restart, a stage is followed even while another stage's source is gone: it stays closed while its object is broken, and opens once fixed", async () => {
    const cm = (name: string, v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { v: "${v}" }\n`;
    await artifacts.publish({ namespace: ns, name: "pair-a" }, { files: { "a.yaml": cm("pair-a", "1") } });
    await artifacts.publish({ namespace: ns, name: "pair-b" }, { files: { "b.yaml": cm("pair-b", "1") } });
    const check = { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "data.v == '1'" }] };
    await release("pair", [{ name: "a", sourceRef: { name: "pair-a" }, readyChecks: check }, { name: "b", sourceRef: { name: "pair-b" } }]);
    await eventually(() => probe.status("pair", "a"), code => code === 200, { what: "the gate of pair/a open" });

    await module?.stop();
    admin(["patch", "configmap", "pair-a", "-n", ns, "--type=merge", "-p", '{"data":{"v":"2"}}']);
    admin(["delete", "externalartifact", "pair-b", "-n", ns]);
    await startModule();

    // Every reconcile now fails on stage b's source; stage a is followed all the same.
    const seen = await neverOpenFor("pair", "a", 4_000);
    expect(seen.filter(code => code !== 403)).toEqual([]); // closed throughout, and every poll answered
    expect(seen.length).toBeGreaterThan(20);
    const degraded = await eventually(() => read("pair"), s => stageOf(s, "a")?.phase === "Degraded" && s.status?.conditions?.some(c => c.reason === "SourceNotReady") === true, { what: "stage a Degraded while b's source is gone", timeoutMs: 30_000 });
    expect(stageOf(degraded, "a")?.message).toMatch(/ConfigMap\/pair-a in namespace .*: /);
    admin(["patch", "configmap", "pair-a", "-n", ns, "--type=merge", "-p", '{"data":{"v":"1"}}']);
    await eventually(() => probe.status("pair", "a"), code => code === 200, { what: "the gate of pair/a open once its object is fixed, b's source still gone", timeoutMs: 30_000 });
    expect(await probe.status("pair", "b")).toBe(403);
  }, 180_000);
});
