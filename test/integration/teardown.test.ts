// Stage removal and StageSet deletion on the real control plane: a stage dropped from the
// spec is torn down (members, then its ApplySet parent), several at once last first; deleting
// the StageSet tears every stage down in reverse order before the finalizer lets it go, and
// objects annotated `stageset.dev/prune: disabled` survive.
import { KubeConfig, Watch } from "@kubernetes/client-node";
import { K8s, kind } from "pepr";
import { afterEach, describe, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { eventually } from "../harness/cluster";
import { configMapIn, invariantViolations, useEngineSuite } from "../harness/suite";

const env = useEngineSuite("teardown");

const configMap = (name: string, annotations?: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: ${JSON.stringify({ name, ...(annotations ? { annotations } : {}) })}\ndata: { color: blue }\n`;
const optOut = { "stageset.dev/prune": "disabled" };

const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const ready = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
const parentOf = (ss: string, stage: string) => `stageset-${ss}-${stage}`;

/** Each stage `<stage>` of StageSet `<ss>` reads the ExternalArtifact `<ss>-<stage>`. */
async function applyStageSet(name: string, stages: string[]): Promise<void> {
  await K8s(StageSet).Apply({ metadata: { name, namespace: env.ns }, spec: { stages: stages.map(s => ({ name: s, sourceRef: { name: `${name}-${s}` } })) } });
}

/** Publishes stage `<stage>` with one ConfigMap `<ss>-<stage>` plus the extra files given. */
async function publishStage(ss: string, stage: string, extra: Record<string, string> = {}): Promise<void> {
  await env.artifacts.publish({ namespace: env.ns, name: `${ss}-${stage}` }, { files: { "cm.yaml": configMap(`${ss}-${stage}`), ...extra } }, { label: "v1" });
}

const getConfigMap = (name: string) => configMapIn(env.ns, name);

const uidOf = async (name: string) => (await getConfigMap(name))?.metadata?.uid;

/** Names of the ConfigMaps that carry this StageSet's ownership label (members and parents). */
async function labelled(ss: string): Promise<string[]> {
  const list = await K8s(kind.ConfigMap).InNamespace(env.ns).WithLabel("stageset.dev/name", ss).Get();
  return list.items.map(cm => cm.metadata!.name!).sort();
}

/** Sleeps past the current wall-clock second, plus a little. */
const nextSecond = () => new Promise(ok => setTimeout(ok, 1_050 - (Date.now() % 1_000)));

interface Deletions {
  names: string[];
  stop(): void;
}

/**
 * ConfigMap deletions in this namespace, in the order the API server committed them: one raw
 * watch stream from a listed resourceVersion (no client-side relist that could replay a delete
 * late), so the order is the order of the DELETE requests that succeeded.
 */
async function watchDeletions(): Promise<Deletions> {
  const config = new KubeConfig();
  config.loadFromDefault();
  const list = await K8s(kind.ConfigMap).InNamespace(env.ns).Get();
  const names: string[] = [];
  const path = `/api/v1/namespaces/${env.ns}/configmaps`;
  const abort = await new Watch(config).watch(
    path,
    { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: false },
    (type, obj: { metadata?: { name?: string } }) => void (type === "DELETED" && names.push(obj.metadata!.name!)),
    () => {},
  );
  return { names, stop: () => abort.abort() };
}

let deletions: Deletions | undefined;

afterEach(async () => {
  deletions?.stop();
  deletions = undefined;
  const list = await K8s(StageSet).InNamespace(env.ns).Get();
  for (const ss of list.items) expect(invariantViolations(ss), `StageSet ${ss.metadata?.name}`).toEqual([]);
});

describe("stage removal", () => {
  it("tears down a stage removed from spec.stages: its objects and its ApplySet parent are gone", async () => {
    const ss = "shrink";
    for (const stage of ["one", "two", "three"]) await publishStage(ss, stage, { "extra.yaml": configMap(`${ss}-${stage}-extra`) });
    await applyStageSet(ss, ["one", "two", "three"]);
    await eventually(() => read(ss), ready, { what: "three stages Ready" });
    expect(await getConfigMap(parentOf(ss, "three"))).toBeDefined();
    const kept = { one: await uidOf(`${ss}-one`), two: await uidOf(`${ss}-two`) };

    await applyStageSet(ss, ["one", "two"]);
    const done = await eventually(() => read(ss), s => ready(s) && s.metadata?.generation === 2, { what: "Ready without stage three" });
    // Teardown happens before Ready is written: gone by the time Ready is seen.
    expect(await getConfigMap(`${ss}-three`)).toBeUndefined();
    expect(await getConfigMap(`${ss}-three-extra`)).toBeUndefined();
    expect(await getConfigMap(parentOf(ss, "three"))).toBeUndefined();
    expect({ one: await uidOf(`${ss}-one`), two: await uidOf(`${ss}-two`) }).toEqual(kept);
    expect(done.status?.stages?.map(s => s.name)).toEqual(["one", "two"]);
    expect(Object.keys(done.status?.lastAppliedRevisions ?? {}).sort()).toEqual(["one", "two"]);
    expect(await labelled(ss)).toEqual([`${ss}-one`, `${ss}-one-extra`, `${ss}-two`, `${ss}-two-extra`, parentOf(ss, "one"), parentOf(ss, "two")].sort());
  });

  it("tears two removed stages down last first, each one's members before its parent", async () => {
    const ss = "shrink2";
    // Names that sort in spec order, so "last first" cannot come from listing order by chance.
    const stages = ["s1", "s2", "s3", "s4"];
    for (const stage of stages) await publishStage(ss, stage);
    await applyStageSet(ss, stages);
    await eventually(() => read(ss), ready, { what: "four stages Ready" });
    await nextSecond(); // status times have one-second resolution: let the next run be unmistakably later

    deletions = await watchDeletions();
    await applyStageSet(ss, ["s1", "s4"]);
    await eventually(() => read(ss), s => ready(s) && s.metadata?.generation === 2, { what: "Ready without stages s2 and s3" });
    const expected = [`${ss}-s3`, parentOf(ss, "s3"), `${ss}-s2`, parentOf(ss, "s2")];
    const seen = await eventually(async () => [...deletions!.names], names => names.length >= expected.length, { what: "four deletions watched", timeoutMs: 5_000 });
    expect(seen).toEqual(expected);
    expect(await labelled(ss)).toEqual([`${ss}-s1`, `${ss}-s4`, parentOf(ss, "s1"), parentOf(ss, "s4")].sort());
  });
});

describe("StageSet deletion", () => {
  it("tears every stage down in reverse order, then drops the finalizer; opted-out objects survive", async () => {
    const ss = "doomed";
    await publishStage(ss, "one");
    await publishStage(ss, "two", { "kept.yaml": configMap(`${ss}-two-kept`, optOut) });
    await publishStage(ss, "three");
    await applyStageSet(ss, ["one", "two", "three"]);
    const live = await eventually(() => read(ss), ready, { what: "three stages Ready" });
    expect(live.metadata?.finalizers).toContain("stageset.dev/finalizer");
    const keptUid = await uidOf(`${ss}-two-kept`);

    deletions = await watchDeletions();
    await K8s(StageSet).InNamespace(env.ns).Delete(ss);
    await eventually(() => read(ss).then(() => "present", (err: { status?: number }) => (err.status === 404 ? "gone" : Promise.reject(err))), s => s === "gone", { what: "StageSet gone" });
    // The finalizer goes only after teardown, so nothing of the StageSet is left but the opted-out object.
    expect(await labelled(ss)).toEqual([`${ss}-two-kept`]);
    expect(await uidOf(`${ss}-two-kept`)).toBe(keptUid);

    const expected = [`${ss}-three`, parentOf(ss, "three"), `${ss}-two`, parentOf(ss, "two"), `${ss}-one`, parentOf(ss, "one")];
    const seen = await eventually(async () => [...deletions!.names], names => names.length >= expected.length, { what: "six deletions watched", timeoutMs: 5_000 });
    expect(seen).toEqual(expected);
  });

  it("honours prune: false at teardown: a removed stage's objects and a deleted StageSet's stay, only the parents go", async () => {
    const ss = "keeper";
    for (const stage of ["base", "extra"]) await publishStage(ss, stage);
    const stages = [{ name: "base", sourceRef: { name: `${ss}-base` }, prune: false }, { name: "extra", sourceRef: { name: `${ss}-extra` }, prune: false }];
    await K8s(StageSet).Apply({ metadata: { name: ss, namespace: env.ns }, spec: { stages } });
    await eventually(() => read(ss), ready, { what: "two stages Ready" });
    const uids = { base: await uidOf(`${ss}-base`), extra: await uidOf(`${ss}-extra`) };

    // Stage "extra" leaves the spec: torn down, but prune: false (recorded on its parent) keeps its object.
    await K8s(StageSet).Apply({ metadata: { name: ss, namespace: env.ns }, spec: { stages: stages.slice(0, 1) } });
    await eventually(() => getConfigMap(parentOf(ss, "extra")), cm => cm === undefined, { what: "the removed stage's parent gone" });
    expect(await uidOf(`${ss}-extra`)).toBe(uids.extra);
    // Kept and released: no longer labelled as the StageSet's, so nothing claims it any more.
    expect(Object.keys((await getConfigMap(`${ss}-extra`))?.metadata?.labels ?? {}).filter(l => l.startsWith("stageset.dev/") || l.startsWith("applyset.kubernetes.io/"))).toEqual([]);

    await K8s(StageSet).InNamespace(env.ns).Delete(ss);
    await eventually(() => read(ss).then(() => "present", (err: { status?: number }) => (err.status === 404 ? "gone" : Promise.reject(err))), s => s === "gone", { what: "StageSet gone" });
    expect(await getConfigMap(parentOf(ss, "base"))).toBeUndefined();
    expect(await uidOf(`${ss}-base`)).toBe(uids.base);
    expect((await getConfigMap(`${ss}-base`))?.metadata?.labels?.["stageset.dev/name"]).toBeUndefined();

    // A StageSet created again under the same name does not take the released objects for its own.
    await publishStage(ss, "base", { "other.yaml": configMap(`${ss}-other`) });
    await K8s(StageSet).Apply({ metadata: { name: ss, namespace: env.ns }, spec: { stages: [{ name: "base", sourceRef: { name: `${ss}-base` } }] } });
    await eventually(() => read(ss), ready, { what: "the new StageSet Ready" });
    await K8s(StageSet).InNamespace(env.ns).Delete(ss);
    await eventually(() => getConfigMap(`${ss}-other`), cm => cm === undefined, { what: "the new StageSet torn down" });
    expect(await uidOf(`${ss}-extra`)).toBe(uids.extra);
  });
});
