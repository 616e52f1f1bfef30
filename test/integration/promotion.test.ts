// Promotion control on the real control plane, through the module's Pepr bindings (the watcher
// as run-module.ts runs it) and its admission side (Pepr's runtime as an admission pod runs
// it): a chain of StageSets each starting when the one it depends on turns Ready, a cycle
// refused at admission, approvals bound to a revision and to the RBAC verb `approve`, and a
// soak that a degradation restarts.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StageSet, type Stage, type StageSetSpec } from "../../capabilities/api";
import { kubectl } from "../../local-cluster/control-plane";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { startAdmissionWebhook, type AdmissionWebhook } from "../harness/admission-webhook";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { spawnModule, type ModuleProcess } from "../harness/module-process";
import { configMapIn } from "../harness/suite";

let ns: string;
let artifacts: ArtifactServer;
let webhook: AdmissionWebhook | undefined;
let module: ModuleProcess | undefined;

beforeAll(async () => {
  ns = await createTestNamespace("promotion");
  artifacts = await startArtifactServer();
  webhook = await startAdmissionWebhook({ namespaces: [ns], harnessBinDir: inject("harnessBinDir"), kubeconfig: inject("kubeconfig") });
  // Notification receivers listen on loopback, which the SSRF guard refuses unless allowed.
  module = await spawnModule({ namespaces: [ns], kubeconfig: inject("kubeconfig"), harnessBinDir: inject("harnessBinDir"), env: { STAGESET_ACTION_ALLOWLIST: "127.0.0.1" } });
});

afterAll(async () => {
  await module?.stop();
  await webhook?.stop();
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
});

const admin = (args: string[], input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), args, input);
const read = (name: string) => K8s(StageSet).InNamespace(ns).Get(name);
const condition = (ss: StageSet, type: string) => ss.status?.conditions?.find(c => c.type === type);
const ready = (ss: StageSet) => condition(ss, "Ready")?.status === "True" && condition(ss, "Ready")?.observedGeneration === ss.metadata?.generation;
const stageOf = (ss: StageSet, name: string) => ss.status?.stages?.find(s => s.name === name);
const configMap = (name: string, data: Record<string, string> = { v: "1" }) => ({ files: { "cm.yaml": JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data }) } });
const publish = async (name: string, data?: Record<string, string>) => (await artifacts.publish({ namespace: ns, name }, configMap(name, data))).revision;
const stage = (name: string, source: string, extra: Partial<Stage> = {}): Stage => ({ name, sourceRef: { name: source }, ...extra });
const apply = (name: string, spec: StageSetSpec) => K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec } as StageSet);

/** When each gate first answered 200, polled every 10 ms (the gate flips as the view does, when the status event arrives). */
function watchGates(paths: string[]): { openedAt: Map<string, number>; stop(): void } {
  const openedAt = new Map<string, number>();
  let stopped = false;
  void (async () => {
    while (!stopped) {
      for (const path of paths) {
        if (openedAt.has(path)) continue;
        const res = await fetch(`${module!.gate}/gate/${ns}/${path}`).catch(() => undefined);
        if (res?.status === 200) openedAt.set(path, Date.now());
        await res?.body?.cancel();
      }
      await new Promise(ok => setTimeout(ok, 10));
    }
  })();
  return { openedAt, stop: () => void (stopped = true) };
}

describe("spec.dependsOn", () => {
  it("starts each StageSet of a chain when its dependency turns Ready, says what it waits for, and refuses a cycle", async () => {
    for (const name of ["chain-a", "chain-b", "chain-c"]) await publish(name);
    // c waits for b, b for a; a does not exist yet.
    await apply("chain-c", { stages: [stage("app", "chain-c")], dependsOn: [{ name: "chain-b" }] });
    await apply("chain-b", { stages: [stage("app", "chain-b")], dependsOn: [{ name: "chain-a", stage: "app" }] });
    const waitingB = await eventually(() => read("chain-b"), ss => condition(ss, "Ready")?.reason === "DependencyNotReady", { what: "chain-b waiting" });
    expect(condition(waitingB, "Ready")?.message).toContain(`stage app of StageSet ${ns}/chain-a (not found)`);
    expect(condition(waitingB, "Reconciling")?.reason).toBe("DependencyNotReady"); // in progress for kstatus, not stalled
    const waitingC = await eventually(() => read("chain-c"), ss => condition(ss, "Ready")?.reason === "DependencyNotReady", { what: "chain-c waiting" });
    expect(condition(waitingC, "Ready")?.message).toMatch(new RegExp(`StageSet ${ns}/chain-b \\(stage app not Ready \\((Pending|Applying|Waiting)\\)\\)`));
    expect(await configMapIn(ns, "chain-c")).toBeUndefined();

    const gates = watchGates(["chain-a/app", "chain-b/app", "chain-c/app"]);
    try {
      await apply("chain-a", { stages: [stage("app", "chain-a")] });
      const [a, b, c] = await Promise.all(["chain-a", "chain-b", "chain-c"].map(n => eventually(() => read(n), ready, { what: `${n} Ready`, timeoutMs: 60_000 })));
      await eventually(async () => gates.openedAt.size, n => n === 3, { what: "every gate open" });
      // Each dependent's run starts when its dependency's gate opens (woken by the watch event, not a poll).
      const startB = Date.parse(b!.status!.runStartedAt!) - gates.openedAt.get("chain-a/app")!;
      const startC = Date.parse(c!.status!.runStartedAt!) - gates.openedAt.get("chain-b/app")!;
      console.log(`dependsOn: chain-b started ${startB} ms after chain-a's gate opened, chain-c ${startC} ms after chain-b's`);
      // Not before the gate opened (the gate is polled every 10 ms, so a start may show up to a poll early), and soon after.
      for (const start of [startB, startC]) {
        expect(start).toBeGreaterThan(-100);
        expect(start).toBeLessThan(3_000);
      }
      expect(Date.parse(b!.status!.runStartedAt!)).toBeGreaterThan(Date.parse(a!.status!.runStartedAt!));
    } finally {
      gates.stop();
    }

    // a depending on c closes a → c → b → a: refused, naming the cycle.
    const refused = await apply("chain-a", { stages: [stage("app", "chain-a")], dependsOn: [{ name: "chain-c" }] }).then(
      () => "accepted",
      (err: { data?: { message?: string } }) => err.data?.message ?? String(err),
    );
    expect(refused).toContain(`spec.dependsOn: a cycle: ${ns}/chain-a → ${ns}/chain-c → ${ns}/chain-b → ${ns}/chain-a`);
  });
});

describe("approvals", () => {
  it("holds the next stage until a user with the approve verb approves the pinned revision; a new revision needs a new one", async () => {
    admin(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "approver", namespace: ns }, rules: [{ apiGroups: ["stageset.dev"], resources: ["stagesets"], verbs: ["get", "list", "patch", "update", "approve"] }] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "editor", namespace: ns }, rules: [{ apiGroups: ["stageset.dev"], resources: ["stagesets"], verbs: ["get", "list", "patch", "update"] }] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "alice", namespace: ns }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "approver" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "bob", namespace: ns }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "editor" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "bob" }] },
    ] }));
    const as = (user: string, annotation: string) => asUser(user, ["annotate", "--overwrite", "-n", ns, "stageset/gated", annotation]);
    const asUser = (user: string, args: string[]) => {
      try {
        admin([...args, "--as", user]);
        return "accepted";
      } catch (err) {
        return String((err as { stderr?: string }).stderr ?? err);
      }
    };
    const v1 = await publish("gated-db", { v: "1" });
    await publish("gated-app");
    await apply("gated", { stages: [stage("db", "gated-db", { promotion: { approval: "Required" } }), stage("app", "gated-app")] });
    const held = await eventually(() => read("gated"), ss => condition(ss, "Reconciling")?.reason === "ApprovalRequired", { what: "gated waiting for approval" });
    expect(condition(held, "Reconciling")?.message).toContain(`stageset.dev/approve=db@${v1}`);
    expect(stageOf(held, "db")?.phase).toBe("Ready");

    // bob may edit the StageSet but not approve it.
    expect(as("bob", `stageset.dev/approve=db@${v1}`)).toContain(`user "bob" may not approve StageSet ${ns}/gated: approving takes the "approve" verb on stagesets.stageset.dev`);
    // Nor can he write the record himself: the webhook puts back the one there was (none).
    expect(as("bob", `stageset.dev/approvals=${JSON.stringify([{ stage: "db", revision: v1, approvedBy: "alice", approvedAt: "2026-01-01T00:00:00Z" }])}`)).toBe("accepted");
    expect((await read("gated")).metadata?.annotations?.["stageset.dev/approvals"]).toBeUndefined();

    // alice approves another revision: recorded, and nothing moves.
    expect(as("alice", "stageset.dev/approve=db@v0@sha256:0000")).toBe("accepted");
    await eventually(() => read("gated"), ss => ss.status?.approvals?.[0]?.revision === "v0@sha256:0000", { what: "the approval of v0 in status" });
    await new Promise(ok => setTimeout(ok, 1_500));
    expect(await configMapIn(ns, "gated-app")).toBeUndefined();
    expect(condition(await read("gated"), "Reconciling")?.message).toContain("the approval on record, by alice, is for revision v0@sha256:0000");

    // alice approves the pinned revision: the release goes on.
    expect(as("alice", `stageset.dev/approve=db@${v1}`)).toBe("accepted");
    const done = await eventually(() => read("gated"), ready, { what: "gated Ready after the approval" });
    expect(done.status?.approvals).toEqual([{ stage: "db", revision: v1, digest: stageOf(done, "db")!.appliedDigest, approvedBy: "alice", approvedAt: expect.any(String) }]);
    expect(done.metadata?.annotations?.["stageset.dev/approve"]).toBeUndefined();
    expect(await configMapIn(ns, "gated-app")).toBeDefined();

    // A new revision of db: held again until approved at that revision.
    const v2 = await publish("gated-db", { v: "2" });
    const again = await eventually(() => read("gated"), ss => condition(ss, "Reconciling")?.reason === "ApprovalRequired" && stageOf(ss, "db")?.appliedRevision === v2, { what: "gated held at the new revision" });
    expect(condition(again, "Reconciling")?.message).toContain(`stageset.dev/approve=db@${v2}`);
    expect(as("alice", `stageset.dev/approve=db@${v2}`)).toBe("accepted");
    const atV2 = await eventually(() => read("gated"), ss => ready(ss) && ss.status?.lastAppliedRevisions?.db === v2, { what: "gated Ready at the new revision" });

    // The same revision republished with other content is not what alice approved.
    await artifacts.publish({ namespace: ns, name: "gated-db" }, configMap("gated-db", { v: "3" }), { revision: v2 });
    await eventually(() => read("gated"), ss => condition(ss, "Reconciling")?.reason === "ApprovalRequired" && stageOf(ss, "db")?.appliedDigest !== stageOf(atV2, "db")?.appliedDigest, { what: "gated held at the republished revision" });

    // bob may edit the spec but may not take the gate away.
    expect(asUser("bob", ["patch", "-n", ns, "stageset/gated", "--type=json", "-p", '[{"op":"remove","path":"/spec/stages/0/promotion"}]'])).toContain(`user "bob" may not take away the approval gate of stage db`);
    expect(as("alice", `stageset.dev/approve=db@${v2}`)).toBe("accepted");
    await eventually(() => read("gated"), ss => ready(ss) && stageOf(ss, "db")?.appliedDigest !== stageOf(atV2, "db")?.appliedDigest, { what: "gated Ready at the republished revision once approved" });
  });
});

describe("promotion.soak", () => {
  it("holds the next stage for the soak, and a degradation during it restarts the clock", async () => {
    const soakMs = 8_000;
    await publish("soak-db", { ok: "yes" });
    await publish("soak-app");
    const health = { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "data.ok == 'yes'", failed: "data.ok == 'no'" }] };
    await apply("soaked", { stages: [stage("db", "soak-db", { readyChecks: health, promotion: { soak: "8s" } }), stage("app", "soak-app")] });
    const soaking = await eventually(() => read("soaked"), ss => stageOf(ss, "db")?.soakEndsAt !== undefined, { what: "db soaking" });
    const firstEnd = Date.parse(stageOf(soaking, "db")!.soakEndsAt!);
    expect(condition(soaking, "Reconciling")?.reason).toBe("Soaking");
    expect(condition(soaking, "Reconciling")?.message).toContain(`soaks until ${stageOf(soaking, "db")!.soakEndsAt}`);

    // Degrade db during the soak, then let it recover: the soak starts again from the recovery.
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "soak-db", namespace: ns }, data: { ok: "no" } }, { force: true });
    await eventually(() => read("soaked"), ss => stageOf(ss, "db")?.phase === "Degraded" && stageOf(ss, "db")?.soakEndsAt === undefined, { what: "db degraded, soak cleared" });
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "soak-db", namespace: ns }, data: { ok: "yes" } }, { force: true });
    const recoveredAt = Date.now();
    const restarted = await eventually(() => read("soaked"), ss => stageOf(ss, "db")?.phase === "Ready" && stageOf(ss, "db")?.soakEndsAt !== undefined, { what: "db soaking again" });
    const secondEnd = Date.parse(stageOf(restarted, "db")!.soakEndsAt!);
    expect(secondEnd).toBeGreaterThan(firstEnd);
    expect(secondEnd).toBeGreaterThanOrEqual(recoveredAt + soakMs - 1_000);
    expect(await configMapIn(ns, "soak-app")).toBeUndefined();

    const done = await eventually(() => read("soaked"), ready, { what: "soaked Ready", timeoutMs: 60_000 });
    // app was applied only once the second soak had ended.
    expect(Date.parse(stageOf(done, "app")!.lastAppliedTime!)).toBeGreaterThanOrEqual(secondEnd);
  });
});

describe("change windows and freezes", () => {
  it("holds a new revision inside a deny window and starts the run when it ends", async () => {
    await publish("window-app", { v: "1" });
    await apply("windowed", { stages: [stage("app", "window-app")] });
    await eventually(() => read("windowed"), ready, { what: "windowed Ready" });
    // A deny window that started last minute and ends 6 s from now (a spec change that keeps the revisions runs at once).
    const endsAt = Date.now() + 6_000;
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
    const deny = { kind: "deny" as const, schedule: `${start.getUTCMinutes()} ${start.getUTCHours()} * * *`, duration: `${endsAt - start.getTime()}ms` };
    await apply("windowed", { stages: [stage("app", "window-app")], windows: [deny] });
    await eventually(() => read("windowed"), ss => ready(ss) && ss.status?.runGeneration === ss.metadata?.generation, { what: "windowed Ready with its window" });
    const v2 = await publish("window-app", { v: "2" });
    const held = await eventually(() => read("windowed"), ss => condition(ss, "Ready")?.reason === "OutsideWindow", { what: "windowed held by its deny window" });
    expect(condition(held, "Ready")?.message).toContain(`inside a deny window (spec.windows[0] deny ${JSON.stringify(deny.schedule)}`);
    expect(condition(held, "Ready")?.message).toContain(`opens at ${new Date(endsAt).toISOString().replace(/\.\d+Z$/, "Z")}`);
    expect((await configMapIn(ns, "window-app"))?.data?.v).toBe("1");
    const done = await eventually(() => read("windowed"), ss => ready(ss) && ss.status?.lastAppliedRevisions?.app === v2, { what: "windowed Ready at v2", timeoutMs: 30_000 });
    const startedAfterEnd = Date.parse(done.status!.runStartedAt!) - endsAt;
    console.log(`windows: the held run started ${startedAfterEnd} ms after the deny window ended`);
    expect(startedAfterEnd).toBeGreaterThanOrEqual(0);
    expect(startedAfterEnd).toBeLessThan(2_000);
  });

  it("holds a new revision while frozen (setting the freeze re-verifies what is applied at once) and starts the run when the freeze is removed", async () => {
    await publish("frozen-app", { v: "1" });
    await apply("frozen", { stages: [stage("app", "frozen-app")] });
    await eventually(() => read("frozen"), ready, { what: "frozen Ready" });
    await apply("frozen", { stages: [stage("app", "frozen-app")], freeze: { reason: "Black Friday" } });
    await eventually(() => read("frozen"), ss => ready(ss) && ss.status?.runGeneration === ss.metadata?.generation, { what: "frozen re-verified under its freeze" });
    const v2 = await publish("frozen-app", { v: "2" });
    const held = await eventually(() => read("frozen"), ss => condition(ss, "Ready")?.reason === "Frozen", { what: "frozen holding v2" });
    expect(condition(held, "Ready")?.message).toContain(`A new run (stage app has revision ${v2}) waits: frozen: Black Friday; opens when spec.freeze is removed`);
    await new Promise(ok => setTimeout(ok, 1_000));
    expect((await configMapIn(ns, "frozen-app"))?.data?.v).toBe("1");
    const unfrozenAt = Date.now();
    await apply("frozen", { stages: [stage("app", "frozen-app")] });
    const done = await eventually(() => read("frozen"), ss => ready(ss) && ss.status?.lastAppliedRevisions?.app === v2, { what: "frozen Ready at v2 after the freeze" });
    console.log(`freeze: the run started ${Date.parse(done.status!.runStartedAt!) - unfrozenAt} ms after the freeze was removed`);
    expect(Date.parse(done.status!.runStartedAt!) - unfrozenAt).toBeLessThan(2_000);
    expect((await configMapIn(ns, "frozen-app"))?.data?.v).toBe("2");
  });
});

describe("spec.notify", () => {
  it("POSTs one notification per transition in both formats, retries a receiver that fails twice, never holds the release, and makes a failed delivery visible", async () => {
    const received: { path: string; at: number; body: string }[] = [];
    let flaky = 0;
    let slowAnsweredAt = 0;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", c => chunks.push(c as Buffer));
      req.on("end", () => {
        received.push({ path: req.url!, at: Date.now(), body: Buffer.concat(chunks).toString() });
        if (req.url === "/flaky" && ++flaky <= 2) return void res.writeHead(500).end();
        if (req.url === "/slow") return void setTimeout(() => ((slowAnsweredAt = Date.now()), res.writeHead(200).end()), 5_000);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>(ok => receiver.listen(0, "127.0.0.1", ok));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    try {
      await publish("told-db");
      await publish("told-app");
      const all = ["RunStarted", "StageReady", "ApprovalRequired", "Degraded", "Failed", "Succeeded"] as const;
      await apply("told", {
        stages: [stage("db", "told-db"), stage("app", "told-app")],
        notify: [
          { url: `${base}/ce`, events: [...all] },
          { url: `${base}/slack`, events: [...all], format: "slack" },
          { url: `${base}/flaky`, events: ["Succeeded"] },
          { url: `${base}/slow`, events: ["RunStarted"] },
          { url: "http://169.254.169.254/latest", events: ["RunStarted"] },
        ],
      });
      await eventually(() => read("told"), ready, { what: "told Ready" });
      const readyAt = Date.now();
      // The release did not wait for the receiver that holds its answer 5 s.
      expect(slowAnsweredAt === 0 || slowAnsweredAt > readyAt).toBe(true);
      await eventually(async () => received.filter(r => r.path === "/flaky").length, n => n === 3, { what: "the third try at /flaky", timeoutMs: 20_000 });
      await new Promise(ok => setTimeout(ok, 1_500)); // nothing more arrives: one per transition
      const at = (path: string) => received.filter(r => r.path === path).map(r => JSON.parse(r.body) as Record<string, unknown>);
      const events = at("/ce");
      expect(events.map(e => `${e.type as string} ${(e.subject as string) ?? ""}`.trim())).toEqual(["dev.stageset.run.started", "dev.stageset.stage.ready db", "dev.stageset.stage.ready app", "dev.stageset.succeeded"]);
      expect(events[1]).toMatchObject({ specversion: "1.0", source: `/apis/stageset.dev/v1alpha1/namespaces/${ns}/stagesets/told`, data: { stage: "db", namespace: ns, stageSet: "told" } });
      expect(new Set(events.map(e => e.id)).size).toBe(4);
      expect(at("/slack").map(m => m.text)).toEqual([
        expect.stringContaining(`StageSet ${ns}/told: run started`),
        expect.stringContaining("stage db Ready at"),
        expect.stringContaining("stage app Ready at"),
        expect.stringContaining("all stages Ready"),
      ]);
      expect(received.filter(r => r.path === "/slow")).toHaveLength(1);
      // The refused target: a Warning Event and the metric, naming the target, not its URL's path.
      const warning = await eventually(
        async () => (await K8s(kind.CoreEvent).InNamespace(ns).Get()).items.find(e => e.reason === "NotificationFailed" && e.involvedObject?.name === "told"),
        e => e !== undefined,
        { what: "a NotificationFailed Event" },
      );
      expect(warning!.message).toContain("spec.notify[4]");
      expect(warning!.message).not.toContain("/latest");
      // Every other delivery counted once the slow receiver has answered: 4 + 4 + 1 + 1 delivered, 1 refused.
      await eventually(async () => slowAnsweredAt, at => at > 0, { what: "the slow receiver's answer" });
      const metrics = await eventually(async () => (await fetch(`${module!.metrics}/metrics`)).text(), text => /stageset_notifications_total\{result="delivered"\} 10\n/.test(text), { what: "10 deliveries counted" });
      expect(metrics).toMatch(/stageset_notifications_total\{result="Refused"\} 1\n/);
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});
