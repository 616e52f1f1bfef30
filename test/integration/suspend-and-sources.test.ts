// Suspend stops all work until lifted (and closes the gate meanwhile); an artifact in another
// namespace wakes its referrers when its revision changes.
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { createTestNamespace, deleteTestNamespace, eventually, installLooseCRD } from "../harness/cluster";
import { configMapIn, useEngineSuite } from "../harness/suite";

const env = useEngineSuite("suspend");
let sources: string;

const cm = (name: string, value: string) => ({ [`${name}.yaml`]: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { value: "${value}" }\n` });
const read = (name: string) => K8s(StageSet).InNamespace(env.ns).Get(name);
const readyAt = (revision: string) => (ss: StageSet) =>
  ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") === true && ss.status?.lastAppliedRevisions?.only === revision;

beforeAll(async () => {
  sources = await createTestNamespace("sources");
});
afterAll(async () => {
  if (sources) await deleteTestNamespace(sources);
});

it("applies nothing while suspended, and catches up when resumed", async () => {
  const v1 = await env.artifacts.publish({ namespace: env.ns, name: "sus" }, { files: cm("sus", "1") });
  await K8s(StageSet).Apply({ metadata: { name: "sus", namespace: env.ns }, spec: { stages: [{ name: "only", sourceRef: { name: "sus" } }] } });
  await eventually(() => read("sus"), readyAt(v1.revision), { what: "Ready at v1" });
  const gate = () => env.running.controller.view.get(env.ns, "sus", "only")?.ready;
  expect(gate()).toBe(true);

  await K8s(StageSet).Apply({ metadata: { name: "sus", namespace: env.ns }, spec: { suspend: true, stages: [{ name: "only", sourceRef: { name: "sus" } }] } });
  // The suspended spec is a generation no stage was verified under: its gate closes.
  await eventually(async () => gate(), ready => ready === false, { what: "the gate closed while suspended", timeoutMs: 5_000, intervalMs: 50 });
  await new Promise(ok => setTimeout(ok, 500));
  const v2 = await env.artifacts.publish({ namespace: env.ns, name: "sus" }, { files: cm("sus", "2") });
  await new Promise(ok => setTimeout(ok, 2500));
  expect((await configMapIn(env.ns, "sus"))?.data?.value).toBe("1");
  expect((await read("sus")).status?.lastAttemptedRevisions?.only).toBe(v1.revision);

  await K8s(StageSet).Apply({ metadata: { name: "sus", namespace: env.ns }, spec: { suspend: false, stages: [{ name: "only", sourceRef: { name: "sus" } }] } });
  await eventually(() => read("sus"), readyAt(v2.revision), { what: "Ready at v2 after resuming" });
  expect((await configMapIn(env.ns, "sus"))?.data?.value).toBe("2");
  await eventually(async () => gate(), ready => ready === true, { what: "the gate open again once resumed and verified", timeoutMs: 5_000 });
});

it("follows an ExternalArtifact in another namespace, revision after revision", async () => {
  const v1 = await env.artifacts.publish({ namespace: sources, name: "shared" }, { files: cm("shared", "1") });
  await K8s(StageSet).Apply({ metadata: { name: "xns", namespace: env.ns }, spec: { stages: [{ name: "only", sourceRef: { name: "shared", namespace: sources } }] } });
  await eventually(() => read("xns"), readyAt(v1.revision), { what: "Ready at v1" });
  const v2 = await env.artifacts.publish({ namespace: sources, name: "shared" }, { files: cm("shared", "2") });
  // No StageSet change and a 10m interval: only the artifact's revision change can wake it.
  await eventually(() => read("xns"), readyAt(v2.revision), { what: "Ready at v2, woken by the artifact" });
  const applied = await K8s(kind.ConfigMap).InNamespace(env.ns).Get("shared");
  expect(applied.data?.value).toBe("2");
});

it("reads a Flux GitRepository as a source (woken by its watch), and the API server refuses a kind that is not a Flux source", async () => {
  // A GitRepository-shaped CRD (no Flux here).
  const gitKind = { group: "source.toolkit.fluxcd.io", version: "v1", kind: "GitRepository", plural: "gitrepositories" };
  await installLooseCRD(gitKind);
  await eventually(() => K8s(kind.GenericKind, { kindOverride: gitKind }).InNamespace(env.ns).Get(), () => true, { what: "GitRepository served" });
  // The artifact server stores the bytes (and an ExternalArtifact we ignore); the GitRepository publishes them.
  const publishGit = async (value: string) => {
    const artifact = await env.artifacts.publish({ namespace: env.ns, name: `git-bytes-${value}` }, { files: cm("from-git", value) });
    await K8s(kind.GenericKind, { kindOverride: gitKind }).Apply({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name: "repo", namespace: env.ns }, spec: {} }, { force: true });
    await K8s(kind.GenericKind, { kindOverride: gitKind }).PatchStatus({ metadata: { name: "repo", namespace: env.ns }, status: { artifact } });
    return artifact;
  };
  const v1 = await publishGit("1");
  await K8s(StageSet).Apply({ metadata: { name: "git", namespace: env.ns }, spec: { stages: [{ name: "only", sourceRef: { kind: "GitRepository", name: "repo" } }] } });
  await eventually(() => read("git"), readyAt(v1.revision), { what: "Ready from the GitRepository" });
  const v2 = await publishGit("2");
  await eventually(() => read("git"), readyAt(v2.revision), { what: "woken by the GitRepository's new artifact" });
  expect((await configMapIn(env.ns, "from-git"))?.data?.value).toBe("2");

  // Neither a kind outside Flux's sources, nor another version: the controller would watch whatever a tenant named.
  await expect(K8s(StageSet).Apply({ metadata: { name: "not-a-source", namespace: env.ns }, spec: { stages: [{ name: "x", sourceRef: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "ConfigMap", name: "anything" } }] } })).rejects.toMatchObject({ status: 422 });
  await expect(K8s(StageSet).Apply({ metadata: { name: "not-a-source", namespace: env.ns }, spec: { stages: [{ name: "x", sourceRef: { apiVersion: "source.toolkit.fluxcd.io/v9", kind: "GitRepository", name: "anything" } }] } })).rejects.toMatchObject({ status: 422 });
});
