// A three-stage release on the real control plane: a CRD; a custom resource and a
// ConfigMap; a Deployment. Stages go Ready in order, each gated on the one before, and a
// new artifact revision rolls forward and is pinned.
import { K8s, kind } from "pepr";
import { describe, expect, it } from "vitest";
import { StageSet, type StageSetStatus } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { webDeployment } from "../harness/manifests";
import { useEngineSuite } from "../harness/suite";

const env = useEngineSuite("release");

const group = `rel-${Math.random().toString(36).slice(2, 8)}.example.com`;
const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.${group} }
spec:
  group: ${group}
  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
const widget = (color: string) => `apiVersion: ${group}/v1
kind: Widget
metadata: { name: main }
spec: { color: ${color} }
`;
const configMap = (color: string) => `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { color: ${color} }
`;
const deployment = (image: string) => webDeployment(image, 2);

const read = () => K8s(StageSet).InNamespace(env.ns).Get("release");
const stage = (s: StageSetStatus | undefined, name: string) => s?.stages?.find(x => x.name === name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;

describe("a three-stage release", () => {
  it("goes Ready stage by stage, never touching a stage before the one before it is Ready", async () => {
    await env.artifacts.publish({ namespace: env.ns, name: "crds" }, { files: { "widget-crd.yaml": crd } }, { label: "v1" });
    await env.artifacts.publish({ namespace: env.ns, name: "config" }, { files: { "config/widget.yaml": widget("blue"), "config/settings.yaml": configMap("blue") } }, { label: "v1" });
    await env.artifacts.publish({ namespace: env.ns, name: "app" }, { files: { "web.yaml": deployment("registry.invalid/web:1") } }, { label: "v1" });
    await K8s(StageSet).Apply({
      metadata: { name: "release", namespace: env.ns },
      spec: {
        stages: [
          { name: "crds", sourceRef: { name: "crds" } },
          // The Widget is Ready only when its status says so: this holds stage "app" back.
          { name: "config", sourceRef: { name: "config" }, path: "config", readyChecks: { exprs: [{ apiVersion: `${group}/v1`, kind: "Widget", current: "has(status.phase) && status.phase == 'Ready'" }] } },
          { name: "app", sourceRef: { name: "app" } },
        ],
      },
    });

    const waiting = await eventually(read, ss => stage(ss.status, "config")?.phase === "Waiting" && /Widget\/main/.test(stage(ss.status, "config")?.message ?? ""), { what: "stage config Waiting, naming the Widget" });
    expect(stage(waiting.status, "crds")?.phase).toBe("Ready");
    const view = env.running.controller.view;
    expect(view.get(env.ns, waiting.metadata!.name!, "crds")?.ready).toBe(true);
    expect(view.get(env.ns, waiting.metadata!.name!, "config")?.ready).toBe(false);
    // Stage "app" must not have been touched while "config" waits.
    await new Promise(ok => setTimeout(ok, 1500));
    await expect(K8s(kind.Deployment).InNamespace(env.ns).Get("web")).rejects.toMatchObject({ status: 404 });
    expect(stage((await read()).status, "app")?.phase).toBe("Pending");

    await K8s(kind.GenericKind, { kindOverride: { group, version: "v1", kind: "Widget", plural: "widgets" } }).PatchStatus({ metadata: { name: "main", namespace: env.ns }, status: { phase: "Ready" } });

    const done = await eventually(read, ready, { what: "StageSet Ready", timeoutMs: 60_000 });
    const stages = done.status!.stages!;
    expect(stages.map(s => [s.name, s.phase])).toEqual([["crds", "Ready"], ["config", "Ready"], ["app", "Ready"]]);
    // Observed order: each stage was applied no earlier than the one before became Ready.
    for (let i = 1; i < stages.length; i++) {
      expect(Date.parse(stages[i]!.lastAppliedTime!)).toBeGreaterThanOrEqual(Date.parse(stages[i - 1]!.lastTransitionTime!));
    }
    const deploy = await K8s(kind.Deployment).InNamespace(env.ns).Get("web");
    expect(deploy.status?.readyReplicas).toBe(2);
    expect(deploy.metadata?.labels?.["stageset.dev/stage"]).toBe("app");
    expect(deploy.metadata?.labels?.["applyset.kubernetes.io/part-of"]).toMatch(/^applyset-.*-v1$/);
    expect(deploy.metadata?.managedFields?.some(f => f.manager === "stageset-controller" && f.operation === "Apply")).toBe(true);
    expect(done.status?.lastAppliedRevisions).toEqual(done.status?.lastAttemptedRevisions);
    expect(done.status?.conditions?.map(c => c.type).sort()).toEqual(["Ready"]);
  });

  it("rolls a new revision forward and pins it, leaving unchanged stages' objects in place", async () => {
    const before = await read();
    const widgets = () => K8s(kind.GenericKind, { kindOverride: { group, version: "v1", kind: "Widget", plural: "widgets" } }).InNamespace(env.ns).Get("main");
    const crdBefore = await K8s(kind.CustomResourceDefinition).Get(`widgets.${group}`);
    const widgetBefore = await widgets();
    const v2 = await env.artifacts.publish({ namespace: env.ns, name: "app" }, { files: { "web.yaml": deployment("registry.invalid/web:2") } }, { label: "v2" });
    const after = await eventually(read, ss => ready(ss) && ss.status?.lastAppliedRevisions?.app === v2.revision, { what: "revision v2 applied", timeoutMs: 60_000 });
    expect(after.status?.lastAttemptedRevisions?.app).toBe(v2.revision);
    expect(after.status?.lastAttemptedRevisions?.crds).toBe(before.status?.lastAttemptedRevisions?.crds);
    const deploy = await K8s(kind.Deployment).InNamespace(env.ns).Get("web");
    expect(deploy.spec?.template.spec?.containers[0]?.image).toBe("registry.invalid/web:2");
    // Re-applying earlier stages must neither prune nor recreate their objects.
    expect((await K8s(kind.CustomResourceDefinition).Get(`widgets.${group}`)).metadata?.uid).toBe(crdBefore.metadata?.uid);
    const widgetAfter = await widgets();
    expect(widgetAfter.metadata?.uid).toBe(widgetBefore.metadata?.uid);
    expect(widgetAfter.status).toEqual({ phase: "Ready" });
  });
});
