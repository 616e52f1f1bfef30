// Multi-tenant safety on the real control plane, with the API server's own RBAC authorizer:
// a StageSet acts as its ServiceAccount (impersonated), so whatever that ServiceAccount may not
// do is refused, named (who, verb, kind, namespace), and nothing of the stage is applied; what
// it may do elsewhere is applied, tracked, pruned and torn down like anything else. The same
// refusals hold for a StageSet that names no ServiceAccount under the default-ServiceAccount
// setting, and the lockdown setting refuses cross-namespace sources.
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StageSet, type Stage } from "../../capabilities/api";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { startController, type RunningController } from "../harness/controller";
import { configMapIn, useEngineSuite } from "../harness/suite";

const env = useEngineSuite("team-a");
let teamB: string;
let locked: string;
let lockedController: RunningController;

const cm = (name: string, namespace?: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: ${JSON.stringify({ name, ...(namespace ? { namespace } : {}) })}\ndata: { k: v }\n`;
const clusterRole = (name: string) => `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: ${name} }\nrules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }]\n`;
const readyOf = (ss: StageSet) => ss.status?.conditions?.find(c => c.type === "Ready");
const isReady = (ss: StageSet) => readyOf(ss)?.status === "True" && readyOf(ss)?.observedGeneration === ss.metadata?.generation;

/** A ServiceAccount `deployer` in `namespace`, bound to the built-in `edit` role there. */
async function deployer(namespace: string, alsoIn: string[] = []): Promise<void> {
  await K8s(kind.ServiceAccount).Apply({ metadata: { name: "deployer", namespace } });
  for (const ns of [namespace, ...alsoIn]) {
    await K8s(kind.RoleBinding).Apply({
      metadata: { name: `deployer-edit-${namespace}`, namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "ServiceAccount", name: "deployer", namespace }],
    });
  }
}

async function release(namespace: string, name: string, files: Record<string, string>, spec: Partial<StageSet["spec"]> & { stage?: Partial<Stage> } = {}): Promise<void> {
  await env.artifacts.publish({ namespace, name }, { files });
  const { stage, ...rest } = spec;
  await K8s(StageSet).Apply({ metadata: { name, namespace }, spec: { ...rest, stages: [{ name: "s", sourceRef: { name }, ...stage }] } });
}

const read = (namespace: string, name: string) => K8s(StageSet).InNamespace(namespace).Get(name);
const refusal = (namespace: string, name: string, reason: string) => eventually(() => read(namespace, name), ss => readyOf(ss)?.reason === reason, { what: `${name}: ${reason}` });

beforeAll(async () => {
  teamB = await createTestNamespace("team-b");
  locked = await createTestNamespace("locked");
  await deployer(env.ns);
  await deployer(locked);
  // The lockdown setting: StageSets that name no ServiceAccount act as "deployer"; no cross-namespace sources.
  lockedController = await startController({ namespaces: [locked], defaultServiceAccount: "deployer", noCrossNamespaceRefs: true });
});
afterAll(async () => {
  lockedController?.stop();
  for (const ns of [teamB, locked]) if (ns) await deleteTestNamespace(ns);
});

describe("a StageSet acting as its ServiceAccount (edit in its own namespace only)", () => {
  it("is refused an object in another namespace, naming who, verb, kind and namespace; nothing is applied", async () => {
    await release(env.ns, "cross", { "a-own.yaml": cm("cross-own"), "b.yaml": cm("intruder", teamB) }, { serviceAccountName: "deployer" });
    const ss = await refusal(env.ns, "cross", "Forbidden");
    expect(readyOf(ss)?.message).toBe(`stage s: serviceaccount ${env.ns}/deployer cannot create configmaps in namespace ${teamB}; serviceaccount ${env.ns}/deployer cannot patch configmaps in namespace ${teamB}; nothing was applied`);
    expect(await configMapIn(teamB, "intruder")).toBeUndefined();
    expect(await configMapIn(env.ns, "cross-own")).toBeUndefined(); // not even what it could write
  });

  it("runs none of a refused stage's pre actions", async () => {
    const marker = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "pre-ran" }, data: { k: "v" } };
    await release(env.ns, "pre-refused", { "b.yaml": cm("pre-intruder", teamB) }, { serviceAccountName: "deployer", stage: { actions: { pre: [{ name: "mark", apply: { manifests: [marker] } }] } } });
    const ss = await refusal(env.ns, "pre-refused", "Forbidden");
    expect(readyOf(ss)?.message).toContain(`serviceaccount ${env.ns}/deployer cannot create configmaps in namespace ${teamB}`);
    expect(ss.status?.actions ?? []).toEqual([]);
    expect(await configMapIn(env.ns, "pre-ran")).toBeUndefined();
  });

  it("is refused a ClusterRole granting everything", async () => {
    await release(env.ns, "escalate", { "role.yaml": clusterRole(`${env.ns}-everything`) }, { serviceAccountName: "deployer" });
    const ss = await refusal(env.ns, "escalate", "Forbidden");
    expect(readyOf(ss)?.message).toContain(`serviceaccount ${env.ns}/deployer cannot create clusterroles.rbac.authorization.k8s.io at cluster scope`);
    await expect(K8s(kind.ClusterRole).Get(`${env.ns}-everything`)).rejects.toMatchObject({ status: 404 });
  });

  it("is refused a readyChecks entry that reads a Secret in another namespace", async () => {
    await K8s(kind.Secret).Apply({ metadata: { name: "db-password", namespace: teamB }, stringData: { password: "hunter2" } });
    await release(env.ns, "peek", { "own.yaml": cm("peek-own") }, { serviceAccountName: "deployer", stage: { readyChecks: { checks: [{ apiVersion: "v1", kind: "Secret", name: "db-password", namespace: teamB }] } } });
    const ss = await refusal(env.ns, "peek", "Forbidden");
    expect(readyOf(ss)?.message).toMatch(new RegExp(`Secret/db-password in namespace ${teamB}: .*system:serviceaccount:${env.ns}:deployer.*cannot get resource "secrets"`));
    expect(JSON.stringify(ss.status)).not.toContain("hunter2");
  });

  it("applies, tracks, prunes and tears down an object in another namespace its ServiceAccount may write", async () => {
    await deployer(env.ns, [teamB]); // now also edit in team-b
    await release(env.ns, "spread", { "own.yaml": cm("spread-own"), "b.yaml": cm("spread-b", teamB) }, { serviceAccountName: "deployer" });
    await eventually(() => read(env.ns, "spread"), isReady, { what: "Ready with an object in team-b" });
    const placed = await configMapIn(teamB, "spread-b");
    expect(placed?.metadata?.labels?.["stageset.dev/name"]).toBe("spread");
    // The next revision drops it: pruned, as the ServiceAccount.
    await env.artifacts.publish({ namespace: env.ns, name: "spread" }, { files: { "own.yaml": cm("spread-own") } });
    await eventually(() => configMapIn(teamB, "spread-b"), c => c === undefined, { what: "the team-b object pruned" });
    await env.artifacts.publish({ namespace: env.ns, name: "spread" }, { files: { "own.yaml": cm("spread-own"), "b.yaml": cm("spread-b", teamB) } });
    await eventually(() => configMapIn(teamB, "spread-b"), c => c !== undefined, { what: "the team-b object back" });
    await eventually(() => read(env.ns, "spread"), isReady, { what: "Ready again" });
    await K8s(StageSet).InNamespace(env.ns).Delete("spread");
    await eventually(() => configMapIn(teamB, "spread-b"), c => c === undefined, { what: "torn down with the StageSet" });
    expect(await configMapIn(env.ns, "spread-own")).toBeUndefined();
  });
});

describe("the lockdown settings (default ServiceAccount, no cross-namespace sources)", () => {
  it("refuses the same for a StageSet that names no ServiceAccount", async () => {
    await release(locked, "cross", { "b.yaml": cm("intruder-2", teamB) });
    const ss = await refusal(locked, "cross", "Forbidden");
    expect(readyOf(ss)?.message).toContain(`serviceaccount ${locked}/deployer cannot create configmaps in namespace ${teamB}`);
    expect(await configMapIn(teamB, "intruder-2")).toBeUndefined();
    await release(locked, "escalate", { "role.yaml": clusterRole(`${locked}-everything`) });
    expect(readyOf(await refusal(locked, "escalate", "Forbidden"))?.message).toContain("cannot create clusterroles.rbac.authorization.k8s.io at cluster scope");
  });

  it("refuses a sourceRef into another namespace, naming the field", async () => {
    await env.artifacts.publish({ namespace: teamB, name: "theirs" }, { files: { "x.yaml": cm("theirs") } });
    await K8s(StageSet).Apply({ metadata: { name: "borrow", namespace: locked }, spec: { stages: [{ name: "s", sourceRef: { name: "theirs", namespace: teamB } }] } });
    const ss = await refusal(locked, "borrow", "CrossNamespaceRefForbidden");
    expect(readyOf(ss)?.message).toContain(`stage s: spec.stages[0].sourceRef.namespace ${teamB} is another namespace`);
    expect(ss.status?.conditions?.find(c => c.type === "Stalled")?.status).toBe("True");
  });

  it("refuses a dependsOn entry into another namespace, naming the field", async () => {
    await release(locked, "waits-abroad", { "x.yaml": cm("waits-abroad") }, { dependsOn: [{ name: "theirs", namespace: teamB }] });
    const ss = await refusal(locked, "waits-abroad", "CrossNamespaceRefForbidden");
    expect(readyOf(ss)?.message).toContain(`spec.dependsOn[0].namespace ${teamB} is another namespace`);
    expect(await configMapIn(locked, "waits-abroad")).toBeUndefined();
  });

  it("a StageSet acting within its rights goes Ready as the default ServiceAccount", async () => {
    await release(locked, "fine", { "x.yaml": cm("fine") });
    await eventually(() => read(locked, "fine"), isReady, { what: "Ready as the default ServiceAccount" });
    expect((await configMapIn(locked, "fine"))?.data).toEqual({ k: "v" });
  });
});
