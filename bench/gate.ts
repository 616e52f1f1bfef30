// Gate benchmark: the running controller's gate holding 1,000 StageSets x 10 stages, loaded
// by wrk (32 connections) side by side with a bare node:http server answering the same way,
// and the time of a /metrics scrape of the 10,000 stageset_stage_ready series.
// Run: npm run bench:gate (needs wrk: apt-get install wrk)
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StageSet } from "../capabilities/api";
import { mapBounded } from "../capabilities/apply";
import { KubeClient } from "../capabilities/kube";
import { kubectl, startControlPlane } from "../local-cluster/control-plane";
import { spawnController } from "../test/harness/controller-process";

const ns = "bench-gate";
const stageSets = 1000;
const stages = 10;
const pins = (s: number) => `v1@sha256:${String(s).padStart(64, "0")}`;
const stageName = (s: number) => `stage-${s}`;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

/** A suspended StageSet (the engine leaves it alone) whose status says half its stages are Ready. */
async function seed(client: KubeClient): Promise<void> {
  await client.apply(`/api/v1/namespaces/${ns}`, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await mapBounded([...Array(stageSets).keys()], 32, async i => {
    const path = `/apis/stageset.dev/v1alpha1/namespaces/${ns}/stagesets/ss-${i}`;
    const names = [...Array(stages).keys()].map(stageName);
    const created = await client.apply<StageSet>(path, {
      apiVersion: "stageset.dev/v1alpha1",
      kind: "StageSet",
      metadata: { name: `ss-${i}`, namespace: ns },
      spec: { suspend: true, stages: names.map(name => ({ name, sourceRef: { name } })) },
    });
    const gen = created.body.metadata!.generation!;
    const status = {
      observedGeneration: gen,
      runGeneration: gen,
      lastAttemptedRevisions: Object.fromEntries(names.map((n, s) => [n, pins(s)])),
      stages: names.map((name, s) => {
        const attempted = { name, attemptedRevision: pins(s), attemptedDigest: `sha256:${s}` };
        return (i + s) % 2 === 0 ? { ...attempted, phase: "Ready", appliedRevision: pins(s), appliedDigest: `sha256:${s}`, verifiedGeneration: gen } : { ...attempted, phase: "Waiting" };
      }),
    };
    await client.jsonPatch(`${path}/status`, [{ op: "add", path: "/status", value: status }]);
  });
}

function wrk(url: string, script: string, seconds: number): { rps: number; p99ms: number; non2xx: string } {
  const out = execFileSync("wrk", ["-t2", "-c32", `-d${seconds}s`, "--latency", "-s", script, url], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const [, value, unit] = /^\s+99%\s+([\d.]+)(us|ms|s)$/m.exec(out) ?? [];
  const p99ms = Number(value) * (unit === "us" ? 0.001 : unit === "s" ? 1000 : 1);
  return { rps, p99ms, non2xx: /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0" };
}

/** wrk walks every gate path in turn, so the lookup sees all 10,000 keys. */
function pathsScript(): string {
  const dir = mkdtempSync(join(tmpdir(), "stageset-bench-gate-"));
  const paths = [];
  for (let i = 0; i < stageSets; i++) for (let s = 0; s < stages; s++) paths.push(`"/gate/${ns}/ss-${i}/${stageName(s)}"`);
  const file = join(dir, "paths.lua");
  writeFileSync(file, `local paths = {${paths.join(",")}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`);
  return file;
}

async function startBare(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [join("bench", "bare-gate.mjs"), ns, String(stageSets), String(stages)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>(ok => child.stdout!.once("data", d => ok(String(d).trim())));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function main() {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is an error here.
    if ((err as { code?: string }).code === "ENOENT") throw new Error("wrk is not installed: apt-get install wrk");
  }
  const plane = await startControlPlane({ workloads: false });
  process.env.KUBECONFIG = plane.kubeconfig;
  kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", "crds", "-f", "test/fixtures/crds"]);
  kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "crd/stagesets.stageset.dev", "crd/externalartifacts.source.toolkit.fluxcd.io"]);
  const client = KubeClient.fromDefault();
  const controller = await spawnController({ KUBECONFIG: plane.kubeconfig, STAGESET_GATE_ADDRESS: "127.0.0.1:0", STAGESET_METRICS_ADDRESS: "127.0.0.1:0" });
  const bare = await startBare();
  try {
    const t0 = performance.now();
    await seed(client);
    const metricsURL = `${controller.urls.metrics}/metrics`;
    const readySeries = async () => (await (await fetch(metricsURL)).text()).split("\n").filter(l => l.startsWith("stageset_stage_ready{")).length;
    while ((await readySeries()) < stageSets * stages) await new Promise(ok => setTimeout(ok, 500));
    // The engine's first reconcile of each (it adds its finalizer) must be over: load only the gate.
    const list = `/apis/stageset.dev/v1alpha1/namespaces/${ns}/stagesets`;
    const settled = async () => (await client.get<{ items: StageSet[] }>(list)).body.items.every(ss => ss.metadata?.finalizers?.includes("stageset.dev/finalizer"));
    while (!(await settled())) await new Promise(ok => setTimeout(ok, 500));
    console.log(`seeded ${stageSets} StageSets x ${stages} stages and saw them all in the gate's view in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const script = pathsScript();
    const rounds: Record<"ours" | "bare", ReturnType<typeof wrk>[]> = { ours: [], bare: [] };
    for (let round = 0; round < 2; round++) {
      const order = round % 2 === 0 ? (["bare", "ours"] as const) : (["ours", "bare"] as const);
      for (const who of order) rounds[who].push(wrk(`${who === "ours" ? controller.urls.gate : bare.url}/`, script, 8));
    }
    const best = (rs: ReturnType<typeof wrk>[]) => rs.reduce((a, b) => (b.rps > a.rps ? b : a));
    const [o, b] = [best(rounds.ours), best(rounds.bare)];
    const fmt = (r: ReturnType<typeof wrk>) => `${Math.round(r.rps)} req/s, p99 ${r.p99ms.toFixed(2)} ms (403s: ${r.non2xx})`;
    console.log(`5. gate, wrk 32 connections, 8 s, best of 2: stageset ${fmt(o)}; bare node:http ${fmt(b)}; ratio ${(o.rps / b.rps).toFixed(2)} (target >= 25000 req/s, p99 < 5 ms)`);
    console.log(`   rounds: stageset ${rounds.ours.map(r => Math.round(r.rps)).join("/")}, bare ${rounds.bare.map(r => Math.round(r.rps)).join("/")} req/s`);

    const scrapes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await (await fetch(metricsURL)).text();
      scrapes.push(performance.now() - t);
    }
    console.log(`6. /metrics with ${await readySeries()} stageset_stage_ready series: median ${pct(scrapes, 50).toFixed(1)} ms, max ${Math.max(...scrapes).toFixed(1)} ms (n=7, target < 100 ms)`);
  } finally {
    bare.stop();
    client.close();
    await controller.kill("SIGTERM");
    await plane.stop();
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
