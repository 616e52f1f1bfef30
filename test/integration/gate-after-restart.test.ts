// The gate after a controller restart: the new process vouches only for what it has seen
// itself. A Rollout whose status carries a hash is not taken as observing a spec applied
// right after the restart; a Deployment that degraded while the controller was down is
// judged by the Deployment rule from the first list, and its gate never opens meanwhile.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { K8s, kind } from "pepr";
import { describe, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { GateFixture } from "../harness/gate-fixture";
import { getRollout as getRolloutIn, installRolloutCRD, setRolloutStatus as setRolloutStatusIn, workload } from "../harness/rollouts";

const f = new GateFixture("restart");
const { read, stageOf, condition, publish, release, restart, loseOnePod } = f;
const deployment = (name: string) => workload("apps/v1", "Deployment", name);
const rollout = (name: string, tag: number) => workload("argoproj.io/v1alpha1", "Rollout", name, tag);
const getRollout = (name: string) => getRolloutIn(f.ns, name);
const setRolloutStatus = (name: string, status: Record<string, unknown>) => setRolloutStatusIn(f.ns, name, status);

describe("the gate after a controller restart (module wiring, asked over HTTP)", () => {
  it("after a restart, a Deployment that lost availability while the controller was down keeps its gate closed: the first list is judged by the Deployment rule", async () => {
    await publish("down-web", { "web.yaml": deployment("down-web") });
    await release("down", [{ name: "web", sourceRef: { name: "down-web" } }]);
    await restart(async () => {
      await loseOnePod("down-web");
      await eventually(() => K8s(kind.Deployment).InNamespace(f.ns).Get("down-web"), d => d.status?.availableReplicas === 1, { what: "the Deployment 1/2 available" });
    });
    const watch = f.probe.watch("down", ["web"]);
    const watchedAt = Date.now();
    const degraded = await eventually(() => read("down"), ss => stageOf(ss, "web")?.phase === "Degraded", { what: "stage web Degraded after the restart", timeoutMs: 30_000 });
    expect(stageOf(degraded, "web")?.message).toMatch(/Deployment\/down-web in namespace \S+: Replicas: 1\/2/);
    // Half a second past the status, and two seconds in all however fast it came.
    await new Promise(ok => setTimeout(ok, Math.max(500, 2_000 - (Date.now() - watchedAt))));
    const samples = watch.stop().web!;
    expect(samples.length, "polled throughout").toBeGreaterThan(20);
    expect(samples.filter(s => s.status === 200)).toEqual([]);
    await K8s(kind.ResourceQuota).InNamespace(f.ns).Delete("no-pods");
    // The ReplicaSet controller backs off exponentially after each pod the quota refused (on a
    // busy machine its next try can be minutes away); an update of the ReplicaSet syncs it now.
    execFileSync(join(inject("harnessBinDir"), "kubectl"), ["--kubeconfig", inject("kubeconfig"), "-n", f.ns, "annotate", "replicasets", "-l", "app=down-web", `stageset.test/nudge=${Date.now()}`, "--overwrite"], { stdio: "ignore" });
    await eventually(() => f.probe.status("down", "web"), code => code === 200, { what: "the gate open once the Deployment recovers", timeoutMs: 180_000 });
  }, 300_000);


  it("a Rollout with a hash-style observedGeneration, changed in place, is not Ready until its status moves (also right after a controller restart); then Ready; a Degraded that follows fails the stage", async () => {
    await installRolloutCRD();
    await publish("argo-ro", { "ro.yaml": rollout("ro", 1) });
    await K8s(StageSet).Apply({ metadata: { name: "argo", namespace: f.ns }, spec: { stages: [{ name: "ro", sourceRef: { name: "argo-ro" } }] } });
    await eventually(() => getRollout("ro"), r => r.metadata?.generation === 1, { what: "the Rollout applied" });
    await setRolloutStatus("ro", { observedGeneration: "5d8f7c9b", phase: "Healthy" });
    await eventually(() => f.probe.status("argo", "ro"), s => s === 200, { what: "the stage Ready on Argo's status" });

    const v2 = await publish("argo-ro", { "ro.yaml": rollout("ro", 2) });
    await eventually(() => getRollout("ro"), r => r.metadata?.generation === 2, { what: "revision 2 applied in place" });
    const watch = f.probe.watch("argo", ["ro"]);
    await new Promise(ok => setTimeout(ok, 2_500)); // Argo has not reacted: its status still says Healthy at the old hash
    const held = await read("argo");
    expect(stageOf(held, "ro")).toMatchObject({ phase: "Waiting", attemptedRevision: v2.revision });
    expect(stageOf(held, "ro")?.message).toMatch(/status has not changed since generation 2 was applied/);
    const polled = watch.stop().ro!;
    expect(polled.length, "polled throughout").toBeGreaterThan(20);
    expect(polled.map(s => s.status)).not.toContain(200);

    // Argo reacts: a new hash, Progressing, then Healthy: only now is the stage Ready at v2.
    await setRolloutStatus("ro", { observedGeneration: "77aa11ee", phase: "Progressing" });
    await new Promise(ok => setTimeout(ok, 1_000));
    expect(stageOf(await read("argo"), "ro")?.phase).toBe("Waiting");
    await setRolloutStatus("ro", { observedGeneration: "77aa11ee", phase: "Healthy" });
    await eventually(() => f.probe.status("argo", "ro"), s => s === 200, { what: "the stage Ready once Argo observed revision 2" });
    expect(stageOf(await read("argo"), "ro")).toMatchObject({ phase: "Ready", appliedRevision: v2.revision });

    // Revision 3 in place, published while the controller is down: the restarted controller
    // knows nothing of the Rollout yet, and still must not take Argo's old Healthy for it.
    await restart(async () => void (await publish("argo-ro", { "ro.yaml": rollout("ro", 3) })));
    await eventually(() => getRollout("ro"), r => r.metadata?.generation === 3, { what: "revision 3 applied in place by the restarted controller" });
    const afterRestart = f.probe.watch("argo", ["ro"]);
    await new Promise(ok => setTimeout(ok, 2_500));
    expect(stageOf(await read("argo"), "ro")?.message).toMatch(/status has not changed since generation 3 was applied/);
    const heldAfterRestart = afterRestart.stop().ro!;
    expect(heldAfterRestart.length, "polled throughout").toBeGreaterThan(20);
    expect(heldAfterRestart.map(s => s.status)).not.toContain(200);
    // Argo's next word is Degraded: the stage fails.
    await setRolloutStatus("ro", { observedGeneration: "99bb22ff", phase: "Degraded", message: "ProgressDeadlineExceeded" });
    const failed = await eventually(() => read("argo"), ss => stageOf(ss, "ro")?.phase === "Failed", { what: "the stage Failed on Degraded" });
    expect(condition(failed, "Ready")).toMatchObject({ status: "False", reason: "HealthCheckFailed" });
    expect(await f.probe.status("argo", "ro")).toBe(403);
    await K8s(StageSet).InNamespace(f.ns).Delete("argo"); // a failing StageSet would keep retrying through the next tests
  });

});
