// The gate tells the truth at every moment, asked over HTTP of the module as the watcher pod
// runs it (Pepr's runtime in watch mode, the module's own bindings): it closes within a
// second of the watch event that breaks readiness (a spec change, a new or republished
// artifact, an object degrading), it reopens only after the stage is verified again, and a
// resync at the same generation and artifact never closes it.
import { K8s, kind } from "pepr";
import { describe, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { requestedAtAnnotation } from "../../capabilities/engine";
import { eventually } from "../harness/cluster";
import { kubectl } from "../../local-cluster/control-plane";
import { GateFixture } from "../harness/gate-fixture";
import { workload } from "../harness/rollouts";
import { configMapIn, invariantViolations } from "../harness/suite";

const f = new GateFixture("truth");
const { read, stageOf, condition, isReady, publish, release, loseOnePod } = f;
const cm = (name: string, data: Record<string, string> = { v: "1" }) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: ${JSON.stringify(data)}\n`;
const deployment = (name: string) => workload("apps/v1", "Deployment", name);

describe("the gate (module wiring, asked over HTTP)", () => {
  it("a spec change closes every stage within 1 s; each reopens only once the new generation has been through it", async () => {
    await publish("spec-a", { "a.yaml": cm("spec-a") });
    await publish("spec-b", { "b.yaml": cm("spec-b") });
    await publish("spec-c", { "overlays/staging/c.yaml": cm("spec-c-staging"), "overlays/prod/c.yaml": cm("spec-c-prod") });
    const stages = [
      { name: "a", sourceRef: { name: "spec-a" } },
      { name: "b", sourceRef: { name: "spec-b" } },
      { name: "c", sourceRef: { name: "spec-c" }, path: "overlays/staging" },
    ];
    await release("spec", stages);

    const watch = f.probe.watch("spec", ["a", "b", "c"]);
    const changedAt = Date.now();
    // The new spec holds a and b on a check the test satisfies later, so every closing lasts
    // long enough to be seen (re-verified at once, a reopened within ~40 ms: shorter than a poll).
    const held = { readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "has(data.go)" }] } };
    await K8s(StageSet).Apply({
      metadata: { name: "spec", namespace: f.ns },
      spec: { stages: [{ ...stages[0]!, ...held }, { ...stages[1]!, ...held }, { ...stages[2]!, path: "overlays/prod" }] },
    });
    for (const stage of ["a", "b", "c"]) {
      const closed = await watch.until(stage, 403);
      expect(closed - changedAt, `stage ${stage} closed within 1 s of the spec change`).toBeLessThan(1_000);
    }
    // a passes its check and is verified again; b waits on its own, so b and c stay closed meanwhile.
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "spec-a", namespace: f.ns }, data: { go: "yes" } }, { force: true });
    await eventually(() => f.probe.status("spec", "a"), s => s === 200, { what: "stage a verified again under the new spec" });
    await new Promise(ok => setTimeout(ok, 1_500));
    expect(await f.probe.status("spec", "b")).toBe(403);
    expect(await f.probe.status("spec", "c")).toBe(403);
    expect(await configMapIn(f.ns, "spec-c-prod")).toBeUndefined(); // the run never reached c

    await K8s(kind.ConfigMap).Apply({ metadata: { name: "spec-b", namespace: f.ns }, data: { go: "yes" } }, { force: true });
    // c opened only after its new path had been applied (its first 200 after the change comes after the prod object existed).
    const closedAt = await watch.until("c", 403);
    const reopenedAt = await watch.until("c", 200, 30_000, closedAt);
    watch.stop();
    const ss = await read("spec");
    expect(stageOf(ss, "c")).toMatchObject({ phase: "Ready", verifiedGeneration: ss.metadata?.generation });
    const prod = await configMapIn(f.ns, "spec-c-prod");
    expect(prod).toBeDefined();
    expect(reopenedAt).toBeGreaterThanOrEqual(Date.parse(prod!.metadata!.creationTimestamp as unknown as string) - 1_000);
  });

  it("a new revision of stage 1 closes it within 1 s and keeps it closed while stage 2's artifact is broken", async () => {
    await publish("broken-one", { "one.yaml": cm("broken-one") });
    await publish("broken-two", { "two.yaml": cm("broken-two") });
    await release("broken", [
      { name: "one", sourceRef: { name: "broken-one" } },
      { name: "two", sourceRef: { name: "broken-two" } },
    ]);
    await f.artifacts.publish({ namespace: f.ns, name: "broken-two" }, { raw: Buffer.from("this is not a gzip stream") });
    await eventually(() => read("broken"), ss => stageOf(ss, "two")?.phase === "Failed", { what: "stage two Failed on its broken artifact" });
    expect(await f.probe.status("broken", "one")).toBe(200); // its own artifact did not move

    const watch = f.probe.watch("broken", ["one"]);
    const publishedAt = Date.now();
    await publish("broken-one", { "one.yaml": cm("broken-one", { v: "2" }) });
    const closed = await watch.until("one", 403);
    expect(closed - publishedAt).toBeLessThan(1_000);
    await new Promise(ok => setTimeout(ok, 3_000));
    const samples = watch.stop();
    expect(samples.one!.filter(s => s.at > closed).map(s => s.status)).not.toContain(200);
    expect((await configMapIn(f.ns, "broken-one"))?.data).toEqual({ v: "1" }); // nothing applied while stage two is broken
  });

  it("a republish under the same revision with new content starts a new run and applies it", async () => {
    // The new content waits for a word from the test before it is healthy, so the gate's
    // closing is seen however fast the new run is (unheld, it went Ready in ~40 ms: a 403 too
    // short for a 50 ms poll to see every time).
    const exprs = [{ apiVersion: "v1", kind: "ConfigMap", current: "data.ready == 'yes'" }];
    const first = await publish("same-rev", { "x.yaml": cm("same-rev", { v: "1", ready: "yes" }) }, { revision: "release-1" });
    await release("same", [{ name: "x", sourceRef: { name: "same-rev" }, readyChecks: { exprs } }]);
    const watch = f.probe.watch("same", ["x"]);
    const publishedAt = Date.now();
    const second = await publish("same-rev", { "x.yaml": cm("same-rev", { v: "2", ready: "not yet" }) }, { revision: "release-1" });
    expect(second.revision).toBe(first.revision);
    expect(second.digest).not.toBe(first.digest);
    const closed = await watch.until("x", 403);
    expect(closed - publishedAt).toBeLessThan(1_000);
    await eventually(() => configMapIn(f.ns, "same-rev"), c => c?.data?.v === "2", { what: "the republished content applied" });
    expect(await f.probe.status("same", "x")).toBe(403); // applied, not yet healthy
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "same-rev", namespace: f.ns }, data: { ready: "yes" } }, { force: true });
    await eventually(() => f.probe.status("same", "x"), s => s === 200, { what: "the gate open at the new digest" });
    watch.stop();
    expect(stageOf(await read("same"), "x")).toMatchObject({ appliedRevision: "release-1", appliedDigest: second.digest });
  });

  it("a hostile revision that fails before it is pinned is named as the failed one; the previous one as applied; a revert reopens the gate with one apply, no new run", async () => {
    const good = await publish("hostile-x", { "x.yaml": cm("hostile-x") });
    await release("hostile", [{ name: "x", sourceRef: { name: "hostile-x" } }]);
    const bad = await f.artifacts.publish({ namespace: f.ns, name: "hostile-x" }, { entries: [{ name: "../escape.yaml", body: cm("escape") }] });
    const ss = await eventually(() => read("hostile"), s => stageOf(s, "x")?.phase === "Failed", { what: "stage x Failed on the hostile revision" });
    expect(stageOf(ss, "x")).toMatchObject({ attemptedRevision: bad.revision, attemptedDigest: bad.digest, appliedRevision: good.revision, appliedDigest: good.digest });
    expect(stageOf(ss, "x")?.message).toContain(`the objects of revision ${good.revision} (last applied) are unchanged`);
    expect(condition(ss, "Ready")).toMatchObject({ status: "False", reason: "ArtifactExtractionFailed" });
    expect(await f.probe.json("hostile", "x")).toEqual({ ready: false, namespace: f.ns, stageset: "hostile", stage: "x", phase: "Failed", revision: bad.revision, appliedRevision: good.revision });
    expect(await f.probe.status("hostile", "x")).toBe(403);
    expect((await configMapIn(f.ns, "hostile-x"))?.data).toEqual({ v: "1" });

    // The producer reverts to the good artifact: the stage is applied and verified at it again
    // within the same run (nothing new to roll out, so no new run), and its gate reopens.
    const before = { applies: await f.probe.metric("stageset_stage_applies_total"), runStartedAt: (await read("hostile")).status?.runStartedAt };
    const reverted = await f.artifacts.publish({ namespace: f.ns, name: "hostile-x" }, { files: { "x.yaml": cm("hostile-x") } }, { revision: good.revision });
    expect(reverted.digest, "the same bytes again").toBe(good.digest);
    await eventually(() => f.probe.status("hostile", "x"), code => code === 200, { what: "the gate open again at the reverted artifact", timeoutMs: 30_000 });
    const after = await eventually(() => read("hostile"), ss => stageOf(ss, "x")?.phase === "Ready", { what: "stage x Ready at the reverted artifact" });
    expect(stageOf(after, "x")).toMatchObject({ phase: "Ready", attemptedRevision: good.revision, attemptedDigest: good.digest, appliedDigest: good.digest });
    expect(after.status?.runStartedAt).toBe(before.runStartedAt);
    expect(await f.probe.metric("stageset_stage_applies_total")).toBe(before.applies + 1);
  });

  it("a rollback after a newer revision failed halfway keeps the gate closed until the rollback is applied and verified", async () => {
    const hold = { readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "has(data.go)" }] } };
    await publish("half-hold", { "h.yaml": cm("half-hold") });
    const good = await publish("half-x", { "x.yaml": `${cm("half-a")}---\n${cm("half-b")}` });
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "half-hold", namespace: f.ns }, data: { go: "yes" } }, { force: true });
    await release("half", [{ name: "hold", sourceRef: { name: "half-hold" }, ...hold }, { name: "x", sourceRef: { name: "half-x" } }]);

    // Revision 2 reaches the cluster halfway: half-a is updated, half-b refused (an invalid key).
    await publish("half-x", { "x.yaml": `${cm("half-a", { v: "2" })}---\n${cm("half-b", { "not a key!": "2" })}` });
    await eventually(() => read("half"), ss => stageOf(ss, "x")?.phase === "Failed", { what: "stage x Failed on revision 2" });
    expect((await configMapIn(f.ns, "half-a"))?.data).toEqual({ v: "2" });
    // The next run waits on the first stage; the source goes back to revision 1 meanwhile.
    await K8s(kind.ConfigMap, { name: "half-hold", namespace: f.ns }).Patch([{ op: "remove", path: "/data/go" }]);
    const watch = f.probe.watch("half", ["x"]);
    await f.artifacts.publish({ namespace: f.ns, name: "half-x" }, { files: { "x.yaml": `${cm("half-a")}---\n${cm("half-b")}` } }, { revision: good.revision });
    await eventually(() => read("half"), ss => stageOf(ss, "x")?.attemptedRevision === good.revision, { what: "the rollback pinned" });
    await new Promise(ok => setTimeout(ok, 1_500));
    expect((await configMapIn(f.ns, "half-a"))?.data, "revision 2's content still in the cluster").toEqual({ v: "2" });
    const releasedAt = Date.now();
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "half-hold", namespace: f.ns }, data: { go: "yes" } }, { force: true });
    const reopened = await watch.until("x", 200, 30_000);
    expect(watch.stop().x!.length, "polled throughout").toBeGreaterThan(20);
    expect(reopened, "closed until the run got past the first stage and applied the rollback").toBeGreaterThan(releasedAt);
    expect((await configMapIn(f.ns, "half-a"))?.data).toEqual({ v: "1" });
  });

  it("a forced reconcile of a Ready three-stage StageSet at the same revision never closes the gate (polled every 50 ms)", async () => {
    for (const s of ["r1", "r2", "r3"]) await publish(`resync-${s}`, { [`${s}.yaml`]: cm(`resync-${s}`) });
    await release("resync", ["r1", "r2", "r3"].map(s => ({ name: s, sourceRef: { name: `resync-${s}` } })));
    const applies = await f.probe.metric("stageset_stage_applies_total");
    const watch = f.probe.watch("resync", ["r1", "r2", "r3"], 50);
    await new Promise(ok => setTimeout(ok, 200));
    const requestedAt = Date.now();
    await K8s(StageSet, { name: "resync", namespace: f.ns }).Patch([{ op: "add", path: "/metadata/annotations", value: { [requestedAtAnnotation]: "truth-1" } }]);
    await eventually(() => read("resync"), ss => ss.status?.lastHandledReconcileAt === "truth-1" && isReady(ss), { what: "the requested run finished", intervalMs: 50 });
    const finishedAt = Date.now();
    await new Promise(ok => setTimeout(ok, 300));
    const samples = watch.stop();
    expect(await f.probe.metric("stageset_stage_applies_total")).toBe(applies + 3); // every stage was applied again
    for (const s of ["r1", "r2", "r3"] as const) {
      const seen = samples[s]!;
      expect(seen[0]!.at, `stage ${s} polled from before the request`).toBeLessThan(requestedAt);
      expect(seen.at(-1)!.at, `stage ${s} polled until after the run`).toBeGreaterThan(finishedAt);
      expect(Math.max(...seen.slice(1).map((x, i) => x.at - seen[i]!.at)), `stage ${s}: no gap in the polling`).toBeLessThan(1_000);
      expect(seen.filter(x => x.status !== 200 || x.gauge !== 1), `stage ${s} never closed`).toEqual([]);
    }
  });

  it("a resync whose re-apply the API server refuses keeps the gate open (the verified objects are unchanged); the StageSet says why, and recovers", async () => {
    await publish("frozen-x", { "x.yaml": cm("frozen-x") });
    await release("frozen", [{ name: "x", sourceRef: { name: "frozen-x" } }]);
    // A ValidatingAdmissionPolicy of the API server's own refuses every update of that ConfigMap.
    const name = `${f.ns}-frozen`;
    const policy = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name }, spec: { failurePolicy: "Fail", matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["configmaps"] }] }, validations: [{ expression: "object.metadata.name != 'frozen-x'", message: "frozen by the test" }] } };
    const binding = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name }, spec: { policyName: name, validationActions: ["Deny"], matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": f.ns } } } } };
    const admin = (args: string[], input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), args, input);
    admin(["apply", "--server-side", "-f", "-"], [policy, binding].map(o => JSON.stringify(o)).join("\n---\n"));
    try {
      // The policy is in force once a direct update is refused.
      await eventually(() => K8s(kind.ConfigMap).Apply({ metadata: { name: "frozen-x", namespace: f.ns }, data: { probe: "1" } }, { force: true }).then(() => "accepted", (e: { data?: { message?: string } }) => e.data?.message ?? "refused"), m => m.includes("frozen by the test"), { what: "the policy in force" });
      const watch = f.probe.watch("frozen", ["x"], 50);
      await K8s(StageSet, { name: "frozen", namespace: f.ns }).Patch([{ op: "add", path: "/metadata/annotations", value: { [requestedAtAnnotation]: "frozen-1" } }]);
      const refused = await eventually(() => read("frozen"), ss => condition(ss, "Ready")?.status === "False", { what: "the refused re-apply on the StageSet" });
      expect(condition(refused, "Ready")?.message).toMatch(/frozen by the test/);
      expect(stageOf(refused, "x")).toMatchObject({ phase: "Ready", message: expect.stringMatching(/^re-applying revision .* failed, its verified objects are unchanged: .*frozen by the test/) });
      await new Promise(ok => setTimeout(ok, 2_000)); // a retry or two, refused the same way
      admin(["delete", `validatingadmissionpolicybinding/${name}`, `validatingadmissionpolicy/${name}`]);
      await eventually(() => read("frozen"), isReady, { what: "Ready again once the policy is gone", timeoutMs: 60_000 });
      const samples = watch.stop().x!;
      expect(samples.length).toBeGreaterThan(20);
      expect(samples.filter(x => x.status !== 200 || x.gauge !== 1), "the gate never closed").toEqual([]);
    } finally {
      admin(["delete", "--ignore-not-found", `validatingadmissionpolicybinding/${name}`, `validatingadmissionpolicy/${name}`]);
    }
  });

  it("a Deployment of a Ready stage that loses availability closes the gate within 5 s (HealthDegraded); recovery reopens it with no new apply", async () => {
    await publish("avail-web", { "web.yaml": deployment("web") });
    await release("avail", [{ name: "web", sourceRef: { name: "avail-web" } }]);
    const applies = await f.probe.metric("stageset_stage_applies_total");
    const watch = f.probe.watch("avail", ["web"]);
    const deletedAt = await loseOnePod("web");
    const closed = await watch.until("web", 403);
    expect(closed - deletedAt).toBeLessThan(5_000);
    // The Deployment passes through transient states (seen: "Available: 0/2") before it settles
    // at one pod short; the status follows it and names the settled state.
    const settled = /^Stage web revision \S+ degraded: Deployment\/web in namespace \S+: Replicas: 1\/2$/;
    const degraded = await eventually(() => read("avail"), ss => condition(ss, "Ready")?.reason === "HealthDegraded" && settled.test(condition(ss, "Ready")?.message ?? ""), { what: "Ready=False with HealthDegraded, naming one replica short" });
    expect(condition(degraded, "Ready")).toMatchObject({ status: "False", message: expect.stringMatching(settled) });
    expect(condition(degraded, "Reconciling")).toBeUndefined();
    expect(stageOf(degraded, "web")?.phase).toBe("Degraded");
    expect(await f.probe.json("avail", "web")).toMatchObject({ ready: false, phase: "Degraded" });

    await K8s(kind.ResourceQuota).InNamespace(f.ns).Delete("no-pods");
    await watch.until("web", 200, 60_000);
    watch.stop();
    const recovered = await eventually(() => read("avail"), isReady, { what: "Ready=True again" });
    expect(stageOf(recovered, "web")?.phase).toBe("Ready");
    expect(await f.probe.metric("stageset_stage_applies_total")).toBe(applies); // nothing was applied again
    const events = (await K8s(kind.CoreEvent).InNamespace(f.ns).Get()).items.filter(e => e.involvedObject?.name === "avail").map(e => e.reason);
    expect(events.filter(r => r === "HealthDegraded")).toHaveLength(1);
    expect(events.filter(r => r === "HealthRecovered")).toHaveLength(1);
  });

  it("live health judges by the stage's CEL too: a ConfigMap whose data breaks its ready check closes the gate; fixed, it reopens", async () => {
    await publish("cel-x", { "x.yaml": cm("cel-x", { mode: "on" }) });
    await release("cel", [{ name: "x", sourceRef: { name: "cel-x" }, readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "data.mode == 'on'", failed: "data.mode == 'broken'" }] } }]);
    const watch = f.probe.watch("cel", ["x"]);
    const changedAt = Date.now();
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "cel-x", namespace: f.ns }, data: { mode: "broken" } }, { force: true });
    const closed = await watch.until("x", 403);
    expect(closed - changedAt).toBeLessThan(5_000);
    const degraded = await eventually(() => read("cel"), ss => condition(ss, "Ready")?.reason === "HealthDegraded", { what: "HealthDegraded by the CEL failed expression" });
    expect(condition(degraded, "Ready")?.message).toMatch(/ConfigMap\/cel-x .*failed expression is true: data\.mode == 'broken'/);
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "cel-x", namespace: f.ns }, data: { mode: "on" } }, { force: true });
    await watch.until("x", 200, 30_000);
    watch.stop();
  });

  it("while a stage stays degraded, its status names the objects broken now, not those that broke first; one Event for the degradation", async () => {
    const exprs = [{ apiVersion: "v1", kind: "ConfigMap", current: "data.mode == 'on'", failed: "data.mode == 'broken'" }];
    await publish("pair-s", { "a.yaml": cm("pair-a", { mode: "on" }), "b.yaml": cm("pair-b", { mode: "on" }) });
    await release("pair", [{ name: "s", sourceRef: { name: "pair-s" }, readyChecks: { exprs } }]);
    const setMode = (name: string, mode: string) => K8s(kind.ConfigMap).Apply({ metadata: { name, namespace: f.ns }, data: { mode } }, { force: true });
    await setMode("pair-a", "broken");
    await eventually(() => read("pair"), ss => /ConfigMap\/pair-a /.test(condition(ss, "Ready")?.message ?? ""), { what: "HealthDegraded naming pair-a" });
    await setMode("pair-b", "broken");
    await eventually(() => read("pair"), ss => /ConfigMap\/pair-b /.test(condition(ss, "Ready")?.message ?? ""), { what: "HealthDegraded naming pair-b too" });
    await setMode("pair-a", "on");
    const now = await eventually(() => read("pair"), ss => !/ConfigMap\/pair-a /.test(condition(ss, "Ready")?.message ?? "x"), { what: "HealthDegraded no longer naming pair-a, fixed" });
    expect(condition(now, "Ready")).toMatchObject({ status: "False", reason: "HealthDegraded", message: expect.stringMatching(/ConfigMap\/pair-b .*failed expression is true/) });
    expect(await f.probe.status("pair", "s")).toBe(403);
    const events = (await K8s(kind.CoreEvent).InNamespace(f.ns).Get()).items.filter(e => e.involvedObject?.name === "pair" && e.reason === "HealthDegraded");
    expect(events.reduce((n, e) => n + (e.count ?? 1), 0)).toBe(1);
    await setMode("pair-b", "on");
    await eventually(() => f.probe.status("pair", "s"), code => code === 200, { what: "the gate open once both are fixed", timeoutMs: 30_000 });
  });

  it("ten idle resyncs record no Event", async () => {
    await publish("idle-x", { "x.yaml": cm("idle-x") });
    await release("idle", [{ name: "x", sourceRef: { name: "idle-x" } }], { interval: "1s" });
    const eventsOf = async () => (await K8s(kind.CoreEvent).InNamespace(f.ns).Get()).items.filter(e => e.involvedObject?.name === "idle");
    await new Promise(ok => setTimeout(ok, 1_500)); // the run's own Events are in
    const before = (await eventsOf()).length;
    // Ten resync runs (interval 1s), each applying the same revision again: counted by the
    // distinct runStartedAt this StageSet goes through.
    const runs = new Set<string>();
    await eventually(async () => runs.add((await read("idle")).status!.runStartedAt!).size, n => n >= 11, { what: "ten resyncs", timeoutMs: 60_000, intervalMs: 100 });
    const after = await eventsOf();
    expect(after.length - before, after.slice(before).map(e => `${e.reason}: ${e.message}`).join("\n")).toBe(0);
    expect(invariantViolations(await read("idle"))).toEqual([]);
  });
});
