// The watcher pods' memory on a real node, as users run it: `npm run build`, then `kubectl
// apply` of the plain YAML it writes, on a one-node cluster; each pod's memory read from
// its own cgroup (what the kubelet and an OOM kill go by), against the pod's limit, the
// leader (which reconciles) and the follower apart:
//   - idle, with no StageSets (sampled for 30 s after a minute's settling);
//   - while it rolls out and then holds 200 StageSets x 3 stages x 10 ConfigMaps, the
//     artifacts downloaded by the pod from a server on the nodes' bridge.
// Working set = usage - inactive file pages (the kubelet's figure); RSS = anonymous memory.
// Run as root: npm run bench:pod-memory (BENCH_STAGESETS to change the 200).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startArtifactServer } from "../local-cluster/artifact-server";
import { peprControllerImage } from "../local-cluster/images/pepr-controller";
import { cgroupV1Hierarchies } from "../local-cluster/nodes/cgroups";
import { bridgeAddress, startNodeCluster, type NodeCluster } from "../local-cluster/nodes";
import { mapBounded } from "../capabilities/apply";
import { asUser, root } from "../test/e2e/as-user";
import { runBench } from "./main";

const stageSets = Number(process.env.BENCH_STAGESETS ?? 200);
const stagesPer = 3;
const objectsPer = 10;
const ns = "bench-pods";
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const sleep = (ms: number) => new Promise(ok => setTimeout(ok, ms));

interface Memory {
  workingSet: number;
  rss: number;
}

/** The memory cgroup directory of the pod with this UID (the kubelet names it pod<uid>). */
function podCgroup(uid: string): string {
  const memory = cgroupV1Hierarchies().find(h => h.endsWith("/memory") || h.includes("memory"))!;
  const want = `pod${uid}`;
  const search = (dir: string, depth: number): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name === want) return join(dir, e.name);
      if (depth > 0 && (e.name.startsWith("stageset-") || e.name.startsWith("kubepods") || e.name === "burstable" || e.name === "besteffort")) {
        const found = search(join(dir, e.name), depth - 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  const found = search(memory, 4);
  if (!found) throw new Error(`no memory cgroup for pod ${uid} under ${memory}`);
  return found;
}

function readMemory(dir: string): Memory {
  const stat = Object.fromEntries(readFileSync(join(dir, "memory.stat"), "utf8").trim().split("\n").map(l => l.split(" ") as [string, string]));
  const usage = Number(readFileSync(join(dir, "memory.usage_in_bytes"), "utf8"));
  return { workingSet: usage - Number(stat.total_inactive_file ?? 0), rss: Number(stat.total_rss ?? 0) };
}

/** Samples the cgroup every second until done() resolves; the mean and the peak. */
async function sample(dir: string, done: Promise<unknown>): Promise<{ mean: Memory; peak: Memory }> {
  const xs: Memory[] = [];
  let over = false;
  void done.finally(() => (over = true));
  while (!over) {
    xs.push(readMemory(dir));
    await sleep(1000);
  }
  const mean = (f: keyof Memory) => xs.reduce((a, m) => a + m[f], 0) / xs.length;
  const peak = (f: keyof Memory) => Math.max(...xs.map(m => m[f]));
  return { mean: { workingSet: mean("workingSet"), rss: mean("rss") }, peak: { workingSet: peak("workingSet"), rss: peak("rss") } };
}

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { value: "1" }\n`;

async function rollOut(cluster: NodeCluster): Promise<number> {
  const artifacts = await startArtifactServer({ host: bridgeAddress });
  const t0 = performance.now();
  try {
    cluster.kubectl(["create", "namespace", ns]);
    await mapBounded([...Array(stageSets).keys()], 8, async i => {
      for (let s = 0; s < stagesPer; s++) {
        const files = Object.fromEntries([...Array(objectsPer).keys()].map(j => [`cm-${j}.yaml`, cm(`ss-${i}-s${s}-cm-${j}`)]));
        await artifacts.publish({ namespace: ns, name: `src-${i}-${s}` }, { files });
      }
      const stages = [...Array(stagesPer).keys()].map(s => `  - { name: s${s}, sourceRef: { name: src-${i}-${s} } }`).join("\n");
      cluster.kubectl(["apply", "-f", "-"], `apiVersion: stageset.dev/v1alpha1\nkind: StageSet\nmetadata: { name: ss-${i}, namespace: ${ns} }\nspec:\n  stages:\n${stages}\n`);
    });
    for (;;) {
      // Only each Ready condition's status: the whole list is megabytes of JSON.
      const statuses = cluster.kubectl(["-n", ns, "get", "stagesets", "-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}`]);
      const ready = statuses.split("\n").filter(s => s === "True").length;
      if (ready === stageSets) break;
      if (performance.now() - t0 > 20 * 60_000) throw new Error(`only ${ready} of ${stageSets} Ready after 20 minutes`);
      await sleep(3000);
    }
    return (performance.now() - t0) / 1000;
  } finally {
    await artifacts.stop();
  }
}

async function main(): Promise<void> {
  const cluster = await startNodeCluster({ nodes: 1 });
  try {
    process.env.KUBECONFIG = cluster.controlPlane.kubeconfig;
    cluster.addImage(peprControllerImage());
    await asUser(cluster, "npm", ["run", "build"], 600_000);
    // The plain YAML (kubectl apply): two watcher replicas, the module in each container's first process.
    cluster.kubectl(["apply", "--server-side", "-f", join(root, "dist/pepr-module-stageset-controller.yaml"), "-f", join(root, "test/fixtures/crds/source.toolkit.fluxcd.io_externalartifacts.yaml")]);
    cluster.kubectl(["-n", "pepr-system", "rollout", "status", "deployment/pepr-stageset-controller-watcher", "--timeout=300s"]);
    const pod = JSON.parse(cluster.kubectl(["-n", "pepr-system", "get", "pods", "-l", "pepr.dev/controller=watcher", "-o", "json"])) as {
      items: { metadata: { uid: string; name: string }; spec: { containers: { resources?: { limits?: { memory?: string }; requests?: { memory?: string } } }[] } }[];
    };
    const resources = pod.items[0]!.spec.containers[0]!.resources;
    console.log(`${pod.items.length} watcher pods: memory request ${resources?.requests?.memory ?? "none"}, limit ${resources?.limits?.memory ?? "none"} each`);
    await sleep(60_000);
    // The leader reconciles; a follower only follows what the leader verified: measured apart.
    const leader = cluster.kubectl(["-n", "pepr-system", "get", "lease", "stageset-controller-leader", "-o", "jsonpath={.spec.holderIdentity}"]).split("_")[0];
    const watchers = pod.items.map(p => ({ role: p.metadata.name === leader ? "leader" : "follower", dir: podCgroup(p.metadata.uid) })).sort((a, b) => a.role.localeCompare(b.role));
    const each = async (until: Promise<unknown>) => (await Promise.all(watchers.map(w => sample(w.dir, until)))).map((m, i) => ({ role: watchers[i]!.role, ...m }));
    for (const w of await each(sleep(30_000))) console.log(`idle, no StageSets, ${w.role}: working set ${mib(w.mean.workingSet)} (peak ${mib(w.peak.workingSet)}), RSS ${mib(w.mean.rss)} (target < 124 MiB)`);
    let seconds = 0;
    const during = await each(rollOut(cluster).then(s => (seconds = s)));
    console.log(`${stageSets} StageSets x ${stagesPer} stages x ${objectsPer} ConfigMaps Ready in ${seconds.toFixed(0)} s`);
    for (const w of during) console.log(`  ${w.role}: peak working set ${mib(w.peak.workingSet)}, peak RSS ${mib(w.peak.rss)} (target < 200 MiB)`);
    await sleep(30_000);
    for (const w of await each(sleep(30_000))) console.log(`holding them, ${w.role}: working set ${mib(w.mean.workingSet)}, RSS ${mib(w.mean.rss)}`);
  } finally {
    await cluster.stop();
  }
}

runBench(main);
