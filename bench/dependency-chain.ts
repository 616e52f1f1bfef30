// spec.dependsOn: a chain of StageSets (each depends on the one before), applied all at once,
// run by the bundled module (as the watcher pod runs it). For each link, the time from the
// watch event that shows its dependency's stage verified Ready (seen by this process, as the
// module sees it) to the dependent's run start (status.runStartedAt, to the millisecond).
// The whole chain is applied, last link first, before its head exists; then the head. Prints
// p50/p95/max over the links, and the time each StageSet took from run start to Ready.
// Run: npm run bench:dependency-chain   (BENCH_CHAIN=20 links by default)
import { K8s, kind } from "pepr";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { StageSet } from "../capabilities/api";
import { startArtifactServer } from "../local-cluster/artifact-server";
import { kubectl, startControlPlane } from "../local-cluster/control-plane";
import { spawnModule } from "../test/harness/module-process";
import { runBench } from "./main";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const links = Number(process.env.BENCH_CHAIN ?? 20);
const ns = "bench-chain";
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50)} ms, p95 ${pct(xs, 95)} ms, max ${Math.max(...xs)} ms (n=${xs.length})`;

async function main(): Promise<void> {
  const plane = await startControlPlane({ workloads: false });
  process.env.KUBECONFIG = plane.kubeconfig;
  const artifacts = await startArtifactServer();
  kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", join(root, "crds"), "-f", join(root, "test/fixtures/crds")]);
  kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd/stagesets.stageset.dev", "crd/externalartifacts.source.toolkit.fluxcd.io"]);
  for (const name of [ns, "pepr-system"]) await K8s(kind.Namespace).Apply({ metadata: { name } });
  const module = await spawnModule({ namespaces: [ns], kubeconfig: plane.kubeconfig, harnessBinDir: plane.binDir, bundled: true });
  // When each StageSet's stage was first seen verified (the event the module wakes dependents on), and Ready.
  const verifiedAt = new Map<string, number>();
  const ready = new Map<string, StageSet>();
  const watch = K8s(StageSet).InNamespace(ns).Watch(ss => {
    const name = ss.metadata!.name!;
    const st = ss.status?.stages?.[0];
    if (!verifiedAt.has(name) && st?.verifiedGeneration === ss.metadata?.generation && st?.phase === "Ready") verifiedAt.set(name, Date.now());
    if (ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True")) ready.set(name, ss);
  });
  await watch.start();
  try {
    const name = (i: number) => `link-${i}`;
    for (let i = 0; i < links; i++) await artifacts.publish({ namespace: ns, name: name(i) }, { files: { "cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name(i)} }\ndata: { a: '1' }\n` } });
    for (let i = links - 1; i >= 0; i--) {
      await K8s(StageSet).Apply({ metadata: { name: name(i), namespace: ns }, spec: { stages: [{ name: "s", sourceRef: { name: name(i) } }], ...(i > 0 ? { dependsOn: [{ name: name(i - 1) }] } : {}) } } as StageSet);
    }
    const deadline = Date.now() + 10 * 60_000;
    while (ready.size < links && Date.now() < deadline) await new Promise(ok => setTimeout(ok, 100));
    if (ready.size < links) throw new Error(`only ${ready.size} of ${links} StageSets Ready`);
    const starts: number[] = [];
    const runs: number[] = [];
    for (let i = 0; i < links; i++) {
      const status = ready.get(name(i))!.status!;
      const started = Date.parse(status.runStartedAt!);
      if (i > 0) starts.push(started - verifiedAt.get(name(i - 1))!);
      runs.push(verifiedAt.get(name(i))! - started);
    }
    console.log(`dependsOn chain of ${links} StageSets (one ConfigMap each), bundled module:`);
    console.log(`  a dependent's run start after its dependency was seen verified: ${fmt(starts)}`);
    console.log(`  each StageSet's run start to its stage verified: ${fmt(runs)}`);
  } finally {
    watch.close();
    await module.stop();
    await artifacts.stop();
    await plane.stop();
  }
}

runBench(main);
