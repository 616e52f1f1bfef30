// Failover: two replicas of the module (bundled, as the watcher pod runs it) on one Lease. Ten
// times the leader is killed with SIGKILL, and ten times stopped with SIGTERM; after each, a
// StageSet is applied at once. Prints p50/p95 of:
//   - takeover: from the signal to the Lease naming the other replica;
//   - resumed: from the signal to that StageSet being Ready (the new leader at work).
// A replacement replica is started after each round, so two always run.
// Run: npm run bench:failover
import { K8s, kind } from "pepr";
import { StageSet } from "../capabilities/api";
import { KubeClient } from "../capabilities/kube";
import { leaseName } from "../capabilities/leader";
import { startArtifactServer } from "../local-cluster/artifact-server";
import { kubectl, startControlPlane } from "../local-cluster/control-plane";
import { spawnModule, type ModuleProcess } from "../test/harness/module-process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runBench } from "./main";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const rounds = Number(process.env.BENCH_ROUNDS ?? 10);
const ns = "bench-failover";
const sleep = (ms: number) => new Promise(ok => setTimeout(ok, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} s, p95 ${pct(xs, 95).toFixed(2)} s (n=${xs.length}, max ${Math.max(...xs).toFixed(2)} s)`;

async function main(): Promise<void> {
  const plane = await startControlPlane({ workloads: false });
  process.env.KUBECONFIG = plane.kubeconfig;
  const artifacts = await startArtifactServer();
  const client = KubeClient.fromDefault();
  const replicas = new Map<string, ModuleProcess>();
  let started = 0;
  const replica = async () => {
    const name = `replica-${started++}`;
    const m = await spawnModule({ namespaces: [ns], kubeconfig: plane.kubeconfig, harnessBinDir: plane.binDir, bundled: true, env: { HOSTNAME: name, STAGESET_LEADER_ELECTION: "true", STAGESET_LEASE_NAMESPACE: ns } });
    replicas.set(name, m);
  };
  const holder = async () => {
    const res = await client.get<{ spec?: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${leaseName}`, { allow: [404] });
    return res.status === 404 ? "" : (res.body.spec?.holderIdentity ?? "").split("_")[0]!;
  };
  const until = async <T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 120_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };
  try {
    kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", join(root, "crds"), "-f", join(root, "test/fixtures/crds")]);
    kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd/stagesets.stageset.dev", "crd/externalartifacts.source.toolkit.fluxcd.io"]);
    for (const name of [ns, "pepr-system"]) await K8s(kind.Namespace).Apply({ metadata: { name } });
    await replica();
    await replica();
    const results: Record<"SIGKILL" | "SIGTERM", { takeover: number[]; resumed: number[] }> = { SIGKILL: { takeover: [], resumed: [] }, SIGTERM: { takeover: [], resumed: [] } };
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      for (let i = 0; i < rounds; i++) {
        const name = `${signal.toLowerCase()}-${i}`;
        await artifacts.publish({ namespace: ns, name }, { files: { "cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { a: '1' }\n` } });
        const leader = await until(async () => replicas.has(await holder()) && (await holder()), "a leader among the replicas");
        const t0 = performance.now();
        replicas.get(leader)!.child.kill(signal);
        await K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec: { stages: [{ name: "s", sourceRef: { name } }] } });
        await until(async () => (await holder()) !== leader && (await holder()), "another leader");
        results[signal].takeover.push((performance.now() - t0) / 1000);
        await until(async () => (await K8s(StageSet).InNamespace(ns).Get(name)).status?.conditions?.some(c => c.type === "Ready" && c.status === "True"), `${name} Ready`);
        results[signal].resumed.push((performance.now() - t0) / 1000);
        console.log(`${signal} ${i + 1}/${rounds}: takeover ${results[signal].takeover.at(-1)!.toFixed(2)} s, StageSet Ready ${results[signal].resumed.at(-1)!.toFixed(2)} s`);
        await replicas.get(leader)!.stop();
        replicas.delete(leader);
        await replica();
      }
    }
    console.log("\nfailover with two replicas (lease 15 s, renew deadline 10 s, retry 2 s):");
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      console.log(`  ${signal} of the leader: takeover ${fmt(results[signal].takeover)}`);
      console.log(`  ${signal} of the leader: a StageSet applied at the signal Ready ${fmt(results[signal].resumed)}`);
    }
  } finally {
    await Promise.all([...replicas.values()].map(r => r.stop()));
    client.close();
    await artifacts.stop();
    await plane.stop();
  }
}

runBench(main);
