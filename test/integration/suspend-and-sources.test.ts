// Suspend stops all work until lifted; an artifact in another namespace wakes its
// referrers when its revision changes.
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
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

  await K8s(StageSet).Apply({ metadata: { name: "sus", namespace: env.ns }, spec: { suspend: true, stages: [{ name: "only", sourceRef: { name: "sus" } }] } });
  await new Promise(ok => setTimeout(ok, 500));
  const v2 = await env.artifacts.publish({ namespace: env.ns, name: "sus" }, { files: cm("sus", "2") });
  await new Promise(ok => setTimeout(ok, 2500));
  expect((await configMapIn(env.ns, "sus"))?.data?.value).toBe("1");
  expect((await read("sus")).status?.lastAttemptedRevisions?.only).toBe(v1.revision);

  await K8s(StageSet).Apply({ metadata: { name: "sus", namespace: env.ns }, spec: { suspend: false, stages: [{ name: "only", sourceRef: { name: "sus" } }] } });
  await eventually(() => read("sus"), readyAt(v2.revision), { what: "Ready at v2 after resuming" });
  expect((await configMapIn(env.ns, "sus"))?.data?.value).toBe("2");
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
