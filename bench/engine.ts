// Engine benchmarks on one local control plane, in one run (the machine is shared and
// noisy, so ratios are measured side by side). Prints:
//   1. a stage of 1,000 ConfigMaps applied until Ready, against `kubectl apply --server-side`
//   2. latency from an ExternalArtifact revision change to the first object applied
//   3. hand-off from stage N Ready to stage N+1's first object
//   4. 200 StageSets x 3 stages x 10 ConfigMaps until all Ready, and the controller's peak RSS
// Run: npm run bench (this, then bench/gate.ts); BENCH=1,3 runs a subset of these four
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { K8s, kind } from "pepr";
import { StageSet } from "../capabilities/api";
import { KubeClient } from "../capabilities/kube";
import { startArtifactServer, type ArtifactServer } from "../local-cluster/artifact-server";
import { kubectl, startControlPlane, type ControlPlane } from "../local-cluster/control-plane";
import { spawnController, type ControllerProcess } from "../test/harness/controller-process";

const cm = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { value: "${value}" }\n`;
const files = (prefix: string, n: number, value = "1") => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}-${i}.yaml`, cm(`${prefix}-${i}`, value)]));
const sleep = (ms: number) => new Promise(ok => setTimeout(ok, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
// Polls go through one keep-alive connection: kubernetes-fluent-client opens a new TLS
// connection per request, which would load the API server only while our side is timed.
let poller: KubeClient;
const getStageSet = async (ns: string, name: string) => (await poller.get<StageSet>(`/apis/stageset.dev/v1alpha1/namespaces/${ns}/stagesets/${name}`)).body;
const listStageSets = async (ns: string) => (await poller.get<{ items: StageSet[] }>(`/apis/stageset.dev/v1alpha1/namespaces/${ns}/stagesets`)).body.items;
const getConfigMap = async (ns: string, name: string) => (await poller.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${name}`)).body;
const isReady = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 120_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(everyMs);
  }
}

async function namespace(name: string) {
  await K8s(kind.Namespace).Apply({ metadata: { name } });
  return name;
}

async function thousandConfigMaps(plane: ControlPlane, artifacts: ArtifactServer) {
  const n = 1000;
  const dir = join(plane.dir, "bench-kubectl");
  mkdirSync(dir, { recursive: true });
  for (const [f, body] of Object.entries(files("cm", n))) writeFileSync(join(dir, f), body);
  // Three rounds, each into fresh namespaces, alternating who goes first; medians reported.
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < 3; round++) {
    const runKubectl = async () => {
      const kns = await namespace(`bench-kubectl-${round}`);
      const t0 = performance.now();
      kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-n", kns, "-f", dir]);
      theirs.push(performance.now() - t0);
    };
    const runOurs = async () => {
      const ns = await namespace(`bench-thousand-${round}`);
      await artifacts.publish({ namespace: ns, name: "big" }, { files: files("cm", n) });
      const t1 = performance.now();
      await K8s(StageSet).Apply({ metadata: { name: "big", namespace: ns }, spec: { stages: [{ name: "all", sourceRef: { name: "big" } }] } });
      await until(() => getStageSet(ns, "big"), isReady);
      ours.push(performance.now() - t1);
    };
    if (round % 2 === 0) await runKubectl().then(runOurs);
    else await runOurs().then(runKubectl);
  }
  const s = (xs: number[]) => xs.map(x => (x / 1000).toFixed(2)).join("/");
  const [o, k] = [pct(ours, 50), pct(theirs, 50)];
  console.log(`1. stage of ${n} ConfigMaps until Ready (median of 3; rounds ${s(ours)} vs ${s(theirs)} s): stageset ${(o / 1000).toFixed(2)} s, kubectl apply --server-side ${(k / 1000).toFixed(2)} s, ratio ${(o / k).toFixed(2)} (target <= 0.50)`);
}

async function revisionLatency(artifacts: ArtifactServer) {
  const ns = await namespace("bench-latency");
  await artifacts.publish({ namespace: ns, name: "src" }, { files: files("lat", 1, "0") });
  await K8s(StageSet).Apply({ metadata: { name: "lat", namespace: ns }, spec: { stages: [{ name: "only", sourceRef: { name: "src" } }] } });
  await until(() => getStageSet(ns, "lat"), isReady);
  const samples: number[] = [];
  for (let i = 1; i <= 20; i++) {
    const t0 = performance.now();
    await artifacts.publish({ namespace: ns, name: "src" }, { files: files("lat", 1, String(i)) });
    await until(() => getConfigMap(ns, "lat-0"), c => c.data?.value === String(i), 30_000, 10);
    samples.push(performance.now() - t0);
    await until(() => getStageSet(ns, "lat"), isReady);
  }
  console.log(`2. artifact revision -> first object applied: p50 ${pct(samples, 50).toFixed(0)} ms, p95 ${pct(samples, 95).toFixed(0)} ms (n=${samples.length}, target p95 < 1000 ms)`);
}

async function handOff(artifacts: ArtifactServer) {
  const ns = await namespace("bench-handoff");
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const name = `h${i}`;
    await artifacts.publish({ namespace: ns, name: `${name}-a` }, { files: files(`${name}-a`, 1) });
    await artifacts.publish({ namespace: ns, name: `${name}-b` }, { files: files(`${name}-b`, 1) });
    await K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec: { stages: [{ name: "a", sourceRef: { name: `${name}-a` } }, { name: "b", sourceRef: { name: `${name}-b` } }] } });
    await until(() => getStageSet(ns, name), ss => ss.status?.stages?.[0]?.phase === "Ready", 30_000, 5);
    const readyAt = performance.now();
    await until(() => getConfigMap(ns, `${name}-b-0`), () => true, 30_000, 5);
    samples.push(performance.now() - readyAt);
  }
  console.log(`3. stage N Ready seen -> stage N+1 first object seen: p50 ${pct(samples, 50).toFixed(0)} ms, p95 ${pct(samples, 95).toFixed(0)} ms (n=${samples.length}, target p95 < 2000 ms)`);
}

async function manyStageSets(artifacts: ArtifactServer, controller: ControllerProcess) {
  const ns = await namespace("bench-many");
  const count = 200;
  // Each StageSet needs its own objects: one artifact per stage per StageSet.
  for (let i = 0; i < count; i++) for (const s of ["a", "b", "c"]) await artifacts.publish({ namespace: ns, name: `s${i}-${s}` }, { files: files(`s${i}-${s}`, 10) });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      K8s(StageSet).Apply({ metadata: { name: `s${i}`, namespace: ns }, spec: { stages: ["a", "b", "c"].map(s => ({ name: s, sourceRef: { name: `s${i}-${s}` } })) } }),
    ),
  );
  await until(() => listStageSets(ns), items => items.length === count && items.every(isReady), 300_000, 500);
  const seconds = (performance.now() - t0) / 1000;
  const peakKiB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${controller.child.pid}/status`, "utf8"))?.[1] ?? 0);
  console.log(`4. ${count} StageSets x 3 stages x 10 ConfigMaps until all Ready: ${seconds.toFixed(1)} s (target < 60 s); controller peak RSS ${(peakKiB / 1024).toFixed(0)} MiB (target < 200 MiB)`);
}

async function main() {
  const plane = await startControlPlane({ workloads: false });
  process.env.KUBECONFIG = plane.kubeconfig;
  poller = KubeClient.fromDefault();
  kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", "crds", "-f", "test/fixtures/crds"]);
  kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "crd/stagesets.stageset.dev", "crd/externalartifacts.source.toolkit.fluxcd.io"]);
  const artifacts = await startArtifactServer();
  const controller = await spawnController({ KUBECONFIG: plane.kubeconfig });
  console.log(`control plane ${plane.server}; node ${process.version}; controller pid ${controller.child.pid}`);
  try {
    // BENCH=1,3 runs a subset.
    const only = new Set((process.env.BENCH ?? "1,2,3,4").split(","));
    if (only.has("1")) await thousandConfigMaps(plane, artifacts);
    if (only.has("2")) await revisionLatency(artifacts);
    if (only.has("3")) await handOff(artifacts);
    if (only.has("4")) await manyStageSets(artifacts, controller);
  } finally {
    poller.close();
    await controller.kill("SIGTERM");
    await artifacts.stop();
    await plane.stop();
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
