// The `stageset` CLI as a user runs it (bin/stageset.mjs, a child process with their
// kubeconfig), against the real control plane, the module's Pepr bindings (the watcher, as
// run-module.ts runs it) and its admission side: the demo release of examples/demo, golden
// outputs of get and tree, diff's exit codes, plan, approve and reconcile --wait driving a
// release to Ready, gate, events, and the exit codes of a usage error and a missing StageSet.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s } from "pepr";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { StageSet, type StageSetSpec } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { startAdmissionWebhook, type AdmissionWebhook } from "../harness/admission-webhook";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { spawnModule, type ModuleProcess } from "../harness/module-process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let ns: string;
let artifacts: ArtifactServer;
let webhook: AdmissionWebhook | undefined;
let module: ModuleProcess | undefined;

// The demo release of examples/demo with its CRD's group renamed: a cluster-scoped CRD belongs
// to one StageSet, and other test files roll out the demo (and its CRD) at the same time.
const demoGroup = "cli-test.stageset.dev";
const demoFiles = (stage: string) => Object.fromEntries(readdirSync(join(root, "examples/demo", stage)).map(f => [f, readFileSync(join(root, "examples/demo", stage, f), "utf8").replaceAll("demo.stageset.dev", demoGroup)]));
const read = (name: string) => K8s(StageSet).InNamespace(ns).Get(name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;

beforeAll(async () => {
  ns = await createTestNamespace("cli");
  artifacts = await startArtifactServer();
  webhook = await startAdmissionWebhook({ namespaces: [ns], harnessBinDir: inject("harnessBinDir"), kubeconfig: inject("kubeconfig") });
  module = await spawnModule({ namespaces: [ns], kubeconfig: inject("kubeconfig"), harnessBinDir: inject("harnessBinDir") });
  for (const stage of ["crds", "config", "app"]) await artifacts.publish({ namespace: ns, name: `demo-${stage}` }, { files: demoFiles(stage) }, { label: "v1" });
  const demo = parse(readFileSync(join(root, "examples/demo/stageset.yaml"), "utf8")) as StageSet;
  await K8s(StageSet).Apply({ ...demo, metadata: { name: "demo", namespace: ns } });
  await eventually(() => read("demo"), ready, { what: "the demo release Ready", timeoutMs: 120_000 });
}, 180_000);

afterAll(async () => {
  await module?.stop();
  await webhook?.stop();
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
});

/** Runs `stageset ARGS` as a user does: exit code, stdout and stderr. */
function stageset(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise(ok => {
    execFile(process.execPath, [join(root, "bin/stageset.mjs"), ...args], { env: { ...process.env, KUBECONFIG: inject("kubeconfig"), NO_COLOR: "", ...env }, timeout: 120_000 }, (error, stdout, stderr) =>
      ok({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

/** Output that does not depend on when or where it ran: the test namespace, ages and digests normalised. */
const stable = (text: string) => text.replaceAll(ns, "<ns>").replace(/sha256:[0-9a-f]{12}/g, "sha256:<digest>").replace(/\b\d+[smhd]\b/g, "<age>");

describe("stageset get and tree", () => {
  it("get shows each stage's phase, revision and age (golden)", async () => {
    const r = await stageset(["get", "-n", ns]);
    expect(r.code).toBe(0);
    expect(stable(r.out)).toBe(readFileSync(join(root, "test/integration/golden/cli-get.txt"), "utf8"));
    const json = JSON.parse((await stageset(["get", "demo", "-n", ns, "-o", "json"])).out) as { name: string; ready: string; stages: { name: string; phase: string }[] }[];
    expect(json.map(s => [s.name, s.ready, s.stages.map(x => `${x.name}:${x.phase}`).join(",")])).toEqual([["demo", "True", "crds:Ready,config:Ready,app:Ready"]]);
  });

  it("tree shows stages and their objects with health, from the ApplySet inventory (golden)", async () => {
    const r = await stageset(["tree", "demo", "-n", ns]);
    expect(r.code).toBe(0);
    expect(stable(r.out)).toBe(readFileSync(join(root, "test/integration/golden/cli-tree.txt"), "utf8"));
  });
});

describe("stageset gate and events", () => {
  it("gate asks the gate itself, and events lists the StageSet's Events", async () => {
    const open = await stageset(["gate", `${ns}/demo/crds`, "--url", module!.gate]);
    expect([open.code, open.out]).toEqual([0, "200 ready\n"]);
    const unknown = await stageset(["gate", `${ns}/demo/nope`, "--url", module!.gate]);
    expect([unknown.code, unknown.out]).toEqual([1, "403 not ready\n"]);
    const events = await stageset(["events", "demo", "-n", ns]);
    expect(events.code).toBe(0);
    expect(events.out).toMatch(/Normal +Progressing +Run started: first reconcile/);
    expect(events.out).toMatch(/StageReady +Stage app is Ready at revision v1@sha256/);
  });

});

describe("stageset suspend, diff, plan and resume", () => {
  it("diff exits 0 with no change, and 1 naming the changed object once a new revision changes it (suspended, so nothing applies it meanwhile)", async () => {
    const same = await stageset(["diff", "demo", "-n", ns]);
    expect(same.err).toBe("");
    expect(same.code).toBe(0);
    expect(same.out).toContain("no changes");
    expect((await stageset(["suspend", "demo", "-n", ns])).code).toBe(0);
    const config = demoFiles("config");
    const [file] = Object.keys(config);
    await artifacts.publish({ namespace: ns, name: "demo-config" }, { files: { ...config, [file!]: config[file!]!.replace(/greeting: .*/, "greeting: changed by the diff test") } }, { label: "v2" });
    const changed = await eventually(() => stageset(["diff", "demo", "-n", ns, "--stage", "config"]), r => r.code === 1, { what: "diff exit 1" });
    expect(changed.out).toMatch(new RegExp(`~ ConfigMap/${ns}/`));
    expect(changed.out).toContain("+  greeting: changed by the diff test");
    const plan = await stageset(["plan", "demo", "-n", ns]);
    expect(plan.code).toBe(0);
    expect(stable(plan.out)).toMatch(/1\. stage crds .*unchanged[\s\S]*2\. stage config {3}v1@sha256:<digest> → v2@sha256:<digest>[\s\S]*3\. stage app/);
    expect((await stageset(["resume", "demo", "-n", ns])).code).toBe(0);
    // Once resumed, stage config is applied and verified at v2; then diff finds nothing to change in it.
    // (Not the whole StageSet: under a full test run kwok has left a verified Deployment at 0 available for minutes.)
    const configStage = (ss: StageSet) => ss.status?.stages?.find(st => st.name === "config");
    await eventually(() => read("demo"), ss => configStage(ss)?.phase === "Ready" && configStage(ss)?.appliedRevision?.startsWith("v2@") === true && configStage(ss)?.verifiedGeneration === ss.metadata?.generation, { what: "stage config Ready at v2 once resumed", timeoutMs: 60_000 });
    expect((await stageset(["diff", "demo", "-n", ns, "--stage", "config"])).code).toBe(0);
  }, 240_000);

  it("exits 2 on a usage error and 3 when the StageSet does not exist", async () => {
    const usage = await stageset(["get", "--bogus"]);
    expect([usage.code, usage.err]).toEqual([2, expect.stringContaining("unknown flag --bogus")]);
    const stray = await stageset(["tree", "demo", "-n", ns, "-o", "json"]);
    expect([stray.code, stray.err]).toEqual([2, expect.stringContaining("tree does not take --output")]);
    const both = await stageset(["get", "-n", ns, "-A"]);
    expect([both.code, both.err]).toEqual([2, expect.stringContaining("-A means every namespace and -n one: give one of them")]);
    const named = await stageset(["ui", "demo", "-n", ns]);
    expect([named.code, named.err]).toEqual([2, expect.stringContaining('ui takes no StageSet name (it shows them all; open one in the page): "demo"')]);
    const missing = await stageset(["tree", "nope", "-n", ns]);
    expect([missing.code, missing.err]).toEqual([3, expect.stringContaining("404 NotFound")]);
  });
});

describe("stageset approve and reconcile --wait", () => {
  it("drive a release held for approval to Ready", async () => {
    await artifacts.publish({ namespace: ns, name: "steer-db" }, { files: { "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: steer-db }\ndata: { v: '1' }\n" } });
    await artifacts.publish({ namespace: ns, name: "steer-app" }, { files: { "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: steer-app }\ndata: { v: '1' }\n" } });
    const spec: StageSetSpec = { stages: [{ name: "db", sourceRef: { name: "steer-db" }, promotion: { approval: "Required" } }, { name: "app", sourceRef: { name: "steer-app" } }] };
    await K8s(StageSet).Apply({ metadata: { name: "steer", namespace: ns }, spec } as StageSet);
    await eventually(() => read("steer"), ss => ss.status?.conditions?.some(c => c.type === "Reconciling" && c.reason === "ApprovalRequired") ?? false, { what: "steer waiting for approval" });
    const approved = await stageset(["approve", "steer", "db", "-n", ns]);
    expect([approved.code, approved.out]).toEqual([0, expect.stringMatching(/^approved stage db of StageSet .*\/steer at revision v\d+@sha256:/)]);
    // The approval recorded is of the revision the run pinned, at the digest the stage was trying.
    const held = await read("steer");
    const db = held.status!.stages!.find(st => st.name === "db")!;
    expect(held.status?.approvals).toEqual([expect.objectContaining({ stage: "db", revision: held.status!.lastAttemptedRevisions!.db, digest: db.attemptedDigest })]);
    const run = await stageset(["reconcile", "steer", "-n", ns, "--wait", "--timeout", "60s"]);
    expect(run.code).toBe(0);
    const requestedAt = /requested at (\S+)/.exec(run.out)![1];
    expect((await read("steer")).status?.lastHandledReconcileAt).toBe(requestedAt);
    expect(run.out).toMatch(/stage app +Ready/);
    expect(run.out.trim().split("\n").at(-1)).toBe(`StageSet ${ns}/steer is Ready`);
    // Nothing waits for approval now: approve without --revision refuses rather than guess.
    const again = await stageset(["approve", "steer", "db", "-n", ns]);
    expect([again.code, again.err]).toEqual([3, expect.stringContaining("is not waiting for an approval")]);
  });
});
