// Prune and inventory on the real control plane: an object that leaves a stage is deleted only
// after the whole run succeeds; the `stageset.dev/prune: disabled` opt-out and `prune: false`
// keep it; an object moving between stages changes owner without being deleted; and each
// stage is an ApplySet that `kubectl get -l applyset.kubernetes.io/part-of=<id>` lists.
import { createHash } from "node:crypto";
import { K8s, kind } from "pepr";
import { describe, expect, inject, it } from "vitest";
import { StageSet, type Stage } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { configMapIn, useEngineSuite } from "../harness/suite";
import { kubectl } from "../../local-cluster/control-plane";

const env = useEngineSuite("prune");

const configMap = (name: string, data: Record<string, string> = { color: "blue" }, annotations?: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: ${JSON.stringify({ name, ...(annotations ? { annotations } : {}) })}\ndata: ${JSON.stringify(data)}\n`;
/** One file per ConfigMap name. */
const configMaps = (...names: string[]) => Object.fromEntries(names.map(n => [`${n}.yaml`, configMap(n)]));

const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const stageOf = (ss: StageSet, name: string) => ss.status?.stages?.find(s => s.name === name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
/** Ready, at the end of a run that applied exactly these revisions. */
const readyAt = (revisions: Record<string, string>) => (ss: StageSet) => ready(ss) && Object.entries(revisions).every(([s, r]) => ss.status?.lastAppliedRevisions?.[s] === r);

/** Each stage `<stage>` of StageSet `<ss>` reads the ExternalArtifact `<ss>-<stage>`, unless it names its own sourceRef. */
async function applyStageSet(name: string, stages: (Omit<Stage, "sourceRef"> & Partial<Pick<Stage, "sourceRef">>)[], extra: { suspend?: boolean } = {}) {
  await K8s(StageSet).Apply({ metadata: { name, namespace: env.ns }, spec: { ...extra, stages: stages.map(s => ({ sourceRef: { name: `${name}-${s.name}` }, ...s })) } });
}

async function publish(ss: string, stage: string, files: Record<string, string>, label: string): Promise<string> {
  return (await env.artifacts.publish({ namespace: env.ns, name: `${ss}-${stage}` }, { files }, { label })).revision;
}

const getConfigMap = (name: string) => configMapIn(env.ns, name);

const uidOf = async (name: string) => (await getConfigMap(name))?.metadata?.uid;

/** kubectl's ApplySet id for a ConfigMap parent (KEP-3659), computed here independently of the product. */
const kubectlApplySetId = (name: string, namespace: string) => `applyset-${createHash("sha256").update(`${name}.${namespace}.ConfigMap.`).digest("base64url")}-v1`;

/** `kubectl get <kinds> -l applyset.kubernetes.io/part-of=<id> -o name`, sorted. */
const kubectlMembers = (kinds: string, id: string) =>
  kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["get", kinds, "-n", env.ns, "-l", `applyset.kubernetes.io/part-of=${id}`, "-o", "name"]).trim().split("\n").filter(Boolean).sort();

describe("prune", () => {
  it("deletes an object that left a stage, but only once the whole run has succeeded", async () => {
    const ss = "after-success";
    // Stage "gate" is Ready only while its ConfigMap says go=yes: the test holds the run there.
    const gate = (go: string) => ({ "gate.yaml": configMap("gate", { go }) });
    const v1 = { config: await publish(ss, "config", configMaps("stays", "leaving"), "v1"), gate: await publish(ss, "gate", gate("yes"), "v1") };
    await applyStageSet(ss, [{ name: "config" }, { name: "gate", readyChecks: { exprs: [{ apiVersion: "v1", kind: "ConfigMap", current: "data.go == 'yes'" }] } }]);
    await eventually(() => read(ss), readyAt(v1), { what: "v1 Ready" });
    const [staysUid, leavingUid] = [await uidOf("stays"), await uidOf("leaving")];

    // The gate's new revision lands first, so no run ever sees config v2 without a held gate.
    const v2 = { gate: await publish(ss, "gate", gate("no"), "v2"), config: await publish(ss, "config", configMaps("stays"), "v2") };
    await eventually(() => read(ss), s => s.status?.lastAttemptedRevisions?.config === v2.config && stageOf(s, "gate")?.attemptedRevision === v2.gate && stageOf(s, "gate")?.phase === "Waiting", { what: "run of v2 waiting on stage gate" });
    // Stage config has applied v2 without "leaving", but the run has not succeeded: nothing is pruned yet.
    await new Promise(ok => setTimeout(ok, 1500));
    const held = await read(ss);
    expect({ runDone: readyAt(v2)(held), gate: stageOf(held, "gate")?.phase === "Ready" }).toEqual({ runDone: false, gate: false });
    expect(await uidOf("leaving")).toBe(leavingUid);

    await K8s(kind.ConfigMap).Apply({ metadata: { name: "gate", namespace: env.ns }, data: { go: "yes" } }, { force: true });
    const done = await eventually(() => read(ss), readyAt(v2), { what: "v2 Ready" });
    // Ready is written after prune, so the object is already gone when Ready is seen.
    expect(await getConfigMap("leaving")).toBeUndefined();
    expect(await uidOf("stays")).toBe(staysUid);
    expect(done.status?.stages?.map(s => [s.name, s.phase])).toEqual([["config", "Ready"], ["gate", "Ready"]]);
  });

  it("keeps an object annotated stageset.dev/prune: disabled, in its manifest or on the live object", async () => {
    const ss = "opt-out";
    const files = { ...configMaps("oo-stays", "oo-dropped", "oo-marked"), "oo-annotated.yaml": configMap("oo-annotated", { color: "blue" }, { "stageset.dev/prune": "disabled" }) };
    const v1 = await publish(ss, "app", files, "v1");
    await applyStageSet(ss, [{ name: "app" }]);
    await eventually(() => read(ss), readyAt({ app: v1 }), { what: "v1 Ready" });
    // A user opts an object out by annotating it in the cluster (kubectl annotate).
    await K8s(kind.ConfigMap).Apply({ metadata: { name: "oo-marked", namespace: env.ns, annotations: { "stageset.dev/prune": "disabled" } } }, { force: true });
    const before = { annotated: await uidOf("oo-annotated"), marked: await uidOf("oo-marked"), dropped: await uidOf("oo-dropped") };
    expect(before.dropped).toBeDefined();

    const v2 = await publish(ss, "app", configMaps("oo-stays"), "v2");
    await eventually(() => read(ss), readyAt({ app: v2 }), { what: "v2 Ready" });
    expect(await getConfigMap("oo-dropped")).toBeUndefined(); // the same run did prune
    expect({ annotated: await uidOf("oo-annotated"), marked: await uidOf("oo-marked") }).toEqual({ annotated: before.annotated, marked: before.marked });
    expect(await getConfigMap("oo-stays")).toBeDefined();
  });

  it("moves an object from stage A to stage B without deleting it: same uid, stage B's labels", async () => {
    const ss = "move";
    const stages = [{ name: "first" }, { name: "second" }];
    const mover = (owner: string) => ({ "mover.yaml": configMap("mover", { owner }) });
    await publish(ss, "first", { ...mover("first"), ...configMaps("first-only") }, "v1");
    await publish(ss, "second", configMaps("second-only"), "v1");
    await applyStageSet(ss, stages);
    await eventually(() => read(ss), ready, { what: "v1 Ready" });
    const moverBefore = await getConfigMap("mover");
    expect(moverBefore?.metadata?.labels?.["stageset.dev/stage"]).toBe("first");

    // Both new revisions must land in one run: suspend while publishing them, then resume.
    await applyStageSet(ss, stages, { suspend: true });
    const v2 = { first: await publish(ss, "first", configMaps("first-only"), "v2"), second: await publish(ss, "second", { ...mover("second"), ...configMaps("second-only") }, "v2") };
    await applyStageSet(ss, stages, { suspend: false });
    await eventually(() => read(ss), readyAt(v2), { what: "v2 Ready" });

    const moved = await getConfigMap("mover");
    const secondId = kubectlApplySetId(`stageset-${ss}-second`, env.ns);
    expect(moved?.metadata?.uid).toBe(moverBefore?.metadata?.uid);
    expect(moved?.data).toEqual({ owner: "second" });
    expect(moved?.metadata?.labels).toMatchObject({ "stageset.dev/name": ss, "stageset.dev/namespace": env.ns, "stageset.dev/stage": "second", "applyset.kubernetes.io/part-of": secondId });
    expect(kubectlMembers("cm", secondId)).toEqual(["configmap/mover", "configmap/second-only"]);
    expect(kubectlMembers("cm", kubectlApplySetId(`stageset-${ss}-first`, env.ns))).toEqual(["configmap/first-only"]);
  });

  it("keeps removed objects of a stage with prune: false, while the other stage prunes in the same run", async () => {
    const ss = "no-prune";
    await publish(ss, "pruned", configMaps("p-keep", "p-drop"), "v1");
    await publish(ss, "kept", configMaps("k-keep", "k-drop"), "v1");
    await applyStageSet(ss, [{ name: "pruned" }, { name: "kept", prune: false }]);
    await eventually(() => read(ss), ready, { what: "v1 Ready" });
    const kDrop = await uidOf("k-drop");
    expect(kDrop).toBeDefined();

    const v2 = { pruned: await publish(ss, "pruned", configMaps("p-keep"), "v2"), kept: await publish(ss, "kept", configMaps("k-keep"), "v2") };
    await eventually(() => read(ss), readyAt(v2), { what: "v2 Ready" });
    expect(await getConfigMap("p-drop")).toBeUndefined();
    expect(await uidOf("k-drop")).toBe(kDrop);
    expect(await getConfigMap("k-keep")).toBeDefined();
  });
});

describe("inventory", () => {
  it("lists exactly a stage's members with -l applyset.kubernetes.io/part-of=<id>, and the parent names their kinds", async () => {
    const ss = "listed";
    const secret = "apiVersion: v1\nkind: Secret\nmetadata: { name: one-secret }\nstringData: { token: not-a-secret }\n";
    const account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: one-sa }\n";
    await publish(ss, "one", { ...configMaps("one-cm"), "secret.yaml": secret, "sa.yaml": account }, "v1");
    await publish(ss, "two", configMaps("two-cm"), "v1");
    await applyStageSet(ss, [{ name: "one" }, { name: "two" }]);
    await eventually(() => read(ss), ready, { what: "v1 Ready" });

    const oneId = kubectlApplySetId(`stageset-${ss}-one`, env.ns);
    const twoId = kubectlApplySetId(`stageset-${ss}-two`, env.ns);
    const parent = await getConfigMap(`stageset-${ss}-one`);
    expect(parent?.metadata?.labels?.["applyset.kubernetes.io/id"]).toBe(oneId);
    expect(parent?.metadata?.labels?.["applyset.kubernetes.io/part-of"]).toBeUndefined(); // a parent is not its own member
    expect(parent?.metadata?.annotations).toMatchObject({ "applyset.kubernetes.io/contains-group-kinds": "ConfigMap,Secret,ServiceAccount", "applyset.kubernetes.io/tooling": expect.stringMatching(/^stageset-controller\/v/) });
    expect(kubectlMembers("cm,secret,sa", oneId)).toEqual(["configmap/one-cm", "secret/one-secret", "serviceaccount/one-sa"]);
    expect(kubectlMembers("cm,secret,sa", twoId)).toEqual(["configmap/two-cm"]);
    expect((await getConfigMap(`stageset-${ss}-two`))?.metadata?.annotations?.["applyset.kubernetes.io/contains-group-kinds"]).toBe("ConfigMap");

    // After a run in which stage one lost its Secret, the listing and the parent narrow with it.
    const v2 = await publish(ss, "one", { ...configMaps("one-cm"), "sa.yaml": account }, "v2");
    await eventually(() => read(ss), readyAt({ one: v2 }), { what: "v2 Ready" });
    expect(kubectlMembers("cm,secret,sa", oneId)).toEqual(["configmap/one-cm", "serviceaccount/one-sa"]);
    expect((await getConfigMap(`stageset-${ss}-one`))?.metadata?.annotations?.["applyset.kubernetes.io/contains-group-kinds"]).toBe("ConfigMap,ServiceAccount");
  });
});

describe("ownership between StageSets", () => {
  it("refuses an object another StageSet holds, naming it; takes it only with takeOwnership; the first's prune then leaves it", async () => {
    const first = await publish("own-a", "s", { "shared.yaml": configMap("own-shared"), "a.yaml": configMap("own-a-only") }, "v1");
    await applyStageSet("own-a", [{ name: "s" }]);
    await eventually(() => read("own-a"), readyAt({ s: first }), { what: "the first StageSet Ready" });
    const uid = await uidOf("own-shared");

    await publish("own-b", "s", { "shared.yaml": configMap("own-shared", { color: "red" }), "b.yaml": configMap("own-b-only") }, "v1");
    await applyStageSet("own-b", [{ name: "s" }]);
    const refused = await eventually(() => read("own-b"), ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.reason === "OwnershipConflict") ?? false, { what: "OwnershipConflict" });
    const message = refused.status!.conditions!.find(c => c.type === "Ready")!.message;
    expect(message).toContain(`ConfigMap/own-shared in namespace ${env.ns} belongs to StageSet ${env.ns}/own-a (stage s)`);
    expect(message).toContain("nothing was applied");
    expect(await getConfigMap("own-b-only")).toBeUndefined();
    const kept = await getConfigMap("own-shared");
    expect(kept?.data).toEqual({ color: "blue" });
    expect(kept?.metadata?.labels?.["stageset.dev/name"]).toBe("own-a");

    // The second takes it on purpose; the first then drops it from its release: its prune leaves it.
    await applyStageSet("own-b", [{ name: "s", takeOwnership: true }]);
    await eventually(() => read("own-b"), ready, { what: "the second StageSet Ready with takeOwnership" });
    expect((await getConfigMap("own-shared"))?.metadata?.labels?.["stageset.dev/name"]).toBe("own-b");
    // No tug-of-war: the first, asked to reconcile with the object still in its artifact, is refused and changes nothing.
    await K8s(StageSet, { name: "own-a", namespace: env.ns }).Patch([{ op: "add", path: "/metadata/annotations", value: { "reconcile.fluxcd.io/requestedAt": "take-it-back" } }]);
    const pulled = await eventually(() => read("own-a"), ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.reason === "OwnershipConflict") ?? false, { what: "the first refused once the second holds the object" });
    expect(pulled.status!.conditions!.find(c => c.type === "Ready")!.message).toContain(`belongs to StageSet ${env.ns}/own-b (stage s)`);
    expect((await getConfigMap("own-shared"))?.data).toEqual({ color: "red" });
    expect((await getConfigMap("own-shared"))?.metadata?.labels?.["stageset.dev/name"]).toBe("own-b");
    const second = await publish("own-a", "s", { "a.yaml": configMap("own-a-only") }, "v2");
    await eventually(() => read("own-a"), readyAt({ s: second }), { what: "the first StageSet Ready without the shared object" });
    expect(await uidOf("own-shared")).toBe(uid);
    expect((await getConfigMap("own-shared"))?.data).toEqual({ color: "red" });
  });

  it("refuses a stage whose ApplySet parent name another StageSet's stage already holds (a + b-c, a-b + c), and leaves that one whole", async () => {
    // (The artifacts' usual names, <StageSet>-<stage>, would collide as well: these are named apart.)
    const first = (await env.artifacts.publish({ namespace: env.ns, name: "pa-first" }, { files: configMaps("pa-first") }, { label: "v1" })).revision;
    await applyStageSet("pa", [{ name: "b-c", sourceRef: { name: "pa-first" } }]);
    await eventually(() => read("pa"), readyAt({ "b-c": first }), { what: "StageSet pa Ready" });
    await env.artifacts.publish({ namespace: env.ns, name: "pa-second" }, { files: configMaps("pa-second") }, { label: "v1" });
    await applyStageSet("pa-b", [{ name: "c", sourceRef: { name: "pa-second" } }]);
    const refused = await eventually(() => read("pa-b"), ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.reason === "OwnershipConflict") ?? false, { what: "OwnershipConflict on the parent's name" });
    expect(refused.status!.conditions!.find(c => c.type === "Ready")!.message).toBe(
      `stage c: ConfigMap ${env.ns}/stageset-pa-b-c, which would be this stage's ApplySet parent, is the ApplySet parent of StageSet pa stage b-c; rename the stage or the StageSet; nothing was applied`,
    );
    expect(await getConfigMap("pa-second")).toBeUndefined();
    // Deleting the refused StageSet tears down nothing of the other's.
    await K8s(StageSet).InNamespace(env.ns).Delete("pa-b");
    await eventually(() => K8s(StageSet).InNamespace(env.ns).Get("pa-b").then(() => false, () => true), gone => gone, { what: "pa-b deleted" });
    const parent = await getConfigMap("stageset-pa-b-c");
    expect(parent?.metadata?.labels).toMatchObject({ "stageset.dev/name": "pa", "stageset.dev/stage": "b-c" });
    expect(await getConfigMap("pa-first")).toBeDefined();
    expect(ready(await read("pa"))).toBe(true);
  });
});
