// `reconcile.fluxcd.io/requestedAt` on the real control plane: setting it to a new value starts
// a new run at once (drift is re-applied long before spec.interval), and the run records the
// value in status.lastHandledReconcileAt, as Flux's `flux reconcile` expects.
import { K8s, kind } from "pepr";
import { describe, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { useEngineSuite } from "../harness/suite";

const env = useEngineSuite("requested-at");

const requestedAt = "reconcile.fluxcd.io/requestedAt";
const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
const colorOf = async (name: string) => (await K8s(kind.ConfigMap).InNamespace(env.ns).Get(name)).data?.color;

describe("reconcile.fluxcd.io/requestedAt", () => {
  it("starts a new run for each new value and records it in status.lastHandledReconcileAt", async () => {
    const ss = "poke";
    await env.artifacts.publish({ namespace: env.ns, name: `${ss}-app` }, { files: { "cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${ss} }\ndata: { color: blue }\n` } });
    const stageSet = (annotations: Record<string, string> = {}) => ({ metadata: { name: ss, namespace: env.ns, annotations }, spec: { stages: [{ name: "app", sourceRef: { name: `${ss}-app` } }] } });
    await K8s(StageSet).Apply(stageSet());
    const first = await eventually(() => read(ss), ready, { what: "first run Ready" });
    expect(first.status?.lastHandledReconcileAt).toBeUndefined();

    for (const value of ["2030-01-01T00:00:00Z", "2030-01-01T00:05:00Z"]) {
      // Drift that only a run corrects; spec.interval (10m) is far away, so it stays until one runs.
      await K8s(kind.ConfigMap).Apply({ metadata: { name: ss, namespace: env.ns }, data: { color: "red" } }, { force: true });
      await new Promise(ok => setTimeout(ok, 1500));
      expect(await colorOf(ss)).toBe("red");

      await K8s(StageSet).Apply(stageSet({ [requestedAt]: value }));
      const done = await eventually(() => read(ss), s => ready(s) && s.status?.lastHandledReconcileAt === value, { what: `run for requestedAt ${value}` });
      expect(done.metadata?.generation).toBe(first.metadata?.generation); // an annotation is not a spec change
      expect(await colorOf(ss)).toBe("blue");
    }
  });

  it("re-applies every stage even when requested within the same second as the last apply", async () => {
    const ss = "quick";
    await env.artifacts.publish({ namespace: env.ns, name: `${ss}-app` }, { files: { "cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${ss} }\ndata: { color: blue }\n` } });
    const stageSet = (annotations: Record<string, string> = {}) => ({ metadata: { name: ss, namespace: env.ns, annotations }, spec: { stages: [{ name: "app", sourceRef: { name: `${ss}-app` } }] } });
    await K8s(StageSet).Apply(stageSet());
    await eventually(() => read(ss), ready, { what: "first run Ready" });
    const fast = { what: "", intervalMs: 20 };

    // A first request just after a wall-clock second begins puts the stage's last apply early in
    // that second; the drift and the second request then follow within a few hundred ms.
    await new Promise(ok => setTimeout(ok, 1_020 - (Date.now() % 1_000)));
    await K8s(StageSet).Apply(stageSet({ [requestedAt]: "first" }));
    await eventually(() => read(ss), s => ready(s) && s.status?.lastHandledReconcileAt === "first", { ...fast, what: "run for the first request" });
    await K8s(kind.ConfigMap).Apply({ metadata: { name: ss, namespace: env.ns }, data: { color: "red" } }, { force: true });
    await K8s(StageSet).Apply(stageSet({ [requestedAt]: "second" }));
    const done = await eventually(() => read(ss), s => ready(s) && s.status?.lastHandledReconcileAt === "second", { ...fast, what: "run for the second request" });
    // The requested run must apply the stage again, which puts the drifted field back.
    expect(await colorOf(ss)).toBe("blue");
    expect(Date.parse(done.status!.stages![0]!.lastAppliedTime!)).toBeGreaterThanOrEqual(Date.parse(done.status!.runStartedAt!));
  });
});
