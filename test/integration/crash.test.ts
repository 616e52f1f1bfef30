// A controller killed with SIGKILL in the middle of a release resumes from what the status
// says, and the release converges: every stage Ready, in order, with nothing lost.
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { spawnController, type ControllerProcess } from "../harness/controller-process";
import { webDeployment } from "../harness/manifests";

let ns: string;
let artifacts: ArtifactServer;
let controller: ControllerProcess | undefined;

const configMaps = (stage: string, n: number, round: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${stage}-${i}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${stage}-${i} }\ndata: { stage: ${stage}, round: "${round}" }\n`]));
const deployment = (round: number) => webDeployment(`registry.invalid/web:${round}`, 3);

beforeAll(async () => {
  ns = await createTestNamespace("crash");
  artifacts = await startArtifactServer();
});

afterAll(async () => {
  await controller?.kill();
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
});

it("resumes after SIGKILL mid-release and converges on the latest revisions", async () => {
  const stages = ["one", "two", "three", "four"];
  const publishAll = async (round: number) => {
    const revisions: Record<string, string> = {};
    for (const s of stages) {
      const files = s === "three" ? { "web.yaml": deployment(round) } : configMaps(s, 150, round);
      revisions[s] = (await artifacts.publish({ namespace: ns, name: s }, { files }, { label: `r${round}` })).revision;
    }
    return revisions;
  };
  let latest = await publishAll(0);
  await K8s(StageSet).Apply({ metadata: { name: "release", namespace: ns }, spec: { stages: stages.map(name => ({ name, sourceRef: { name } })) } });

  // Each round rolls new revisions of every stage and kills the controller part-way through.
  const read = () => K8s(StageSet).InNamespace(ns).Get("release");
  const seenAtKill: string[] = [];
  for (const [round, delayMs] of [0, 200, 500, 900, 1400, 2000].entries()) {
    if (round > 0) latest = await publishAll(round);
    // Kill once this controller has visibly made progress, plus a delay: mid-release.
    const before = JSON.stringify((await read()).status?.stages);
    controller = await spawnController({ STAGESET_NAMESPACES: ns });
    await eventually(read, ss => JSON.stringify(ss.status?.stages) !== before, { what: "progress before the kill", intervalMs: 20, timeoutMs: 20_000 });
    await new Promise(ok => setTimeout(ok, delayMs));
    await controller.kill("SIGKILL");
    const ss = await read();
    const finished = JSON.stringify(ss.status?.lastAppliedRevisions) === JSON.stringify(latest);
    seenAtKill.push(`${finished ? "finished" : "mid-release"}: ${(ss.status?.stages ?? []).map(s => `${s.name}:${s.phase}`).join(",")}`);
  }
  controller = await spawnController({ STAGESET_NAMESPACES: ns });

  const done = await eventually(read, ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") === true && ss.status?.lastAppliedRevisions?.four === latest.four, { what: "release Ready at the latest revisions after crashes", timeoutMs: 90_000 });
  console.log(`stage phases seen at each kill: ${seenAtKill.map(k => `[${k}]`).join(" ")}`);
  expect(done.status?.lastAppliedRevisions).toEqual(latest);
  expect(done.status?.stages?.map(s => [s.name, s.phase, s.appliedRevision])).toEqual(stages.map(s => [s, "Ready", latest[s]]));
  // Most kills landed before the release at the newest revisions had finished.
  expect(seenAtKill.filter(k => k.startsWith("mid-release")).length).toBeGreaterThanOrEqual(4);
  // Nothing lost: every object of every stage exists, owned by its stage, at the latest content.
  const cms = await K8s(kind.ConfigMap).InNamespace(ns).WithLabel("applyset.kubernetes.io/part-of").Get();
  const byStage = new Map<string, number>();
  for (const cm of cms.items) {
    const stage = cm.metadata!.labels!["stageset.dev/stage"]!;
    byStage.set(stage, (byStage.get(stage) ?? 0) + 1);
    expect(cm.data?.round).toBe("5");
  }
  expect(Object.fromEntries(byStage)).toEqual({ one: 150, two: 150, four: 150 });
  const web = await K8s(kind.Deployment).InNamespace(ns).Get("web");
  expect(web.spec?.template.spec?.containers[0]?.image).toBe("registry.invalid/web:5");
}, 300_000); // a SIGKILL and a restart per round, slower when the suite runs in parallel
