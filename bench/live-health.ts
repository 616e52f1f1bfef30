// Live health at scale: 1,000 StageSets x 10 ConfigMaps held Ready with live health on, in the
// module as production runs it (bundled to plain JavaScript and run by node, Pepr's runtime in
// watch mode; not through tsx, which alone adds ~80 MiB). Prints, in one run on one control
// plane, the module idle with no StageSets (the baseline) and then holding the 1,000:
//   - CPU while idle (% of one core, over 30 s) and resident memory (now and peak);
//   - the time from an object's degradation (a ConfigMap of a Ready stage deleted) to the
//     gate's 403, p50/p95 over 20 degradations.
// Run: npm run bench:live-health
import { watcherNodeOptions } from "../scripts/watcher-env";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { StageSet } from "../capabilities/api";
import { mapBounded } from "../capabilities/apply";
import { KubeClient } from "../capabilities/kube";
import { startArtifactServer } from "../local-cluster/artifact-server";
import { kubectl, startControlPlane } from "../local-cluster/control-plane";
import { bundleModule, freePort } from "../test/harness/module-process";
import { runBench } from "./main";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const stageSets = Number(process.env.BENCH_STAGESETS ?? 1000);
const objectsPer = 10;
const ns = "bench-live";
const sleep = (ms: number) => new Promise(ok => setTimeout(ok, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { value: "1" }\n`;

/** CPU seconds (user + system) and memory of a process, from /proc. */
function usage(pid: number): { cpu: number; rssMiB: number; hwmMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { cpu: ticks / 100, rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

async function idleCPU(pid: number, seconds: number): Promise<number> {
  const a = usage(pid).cpu;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return ((usage(pid).cpu - a) / ((performance.now() - t0) / 1000)) * 100;
}

async function main(): Promise<void> {
  const plane = await startControlPlane({ workloads: false });
  process.env.KUBECONFIG = plane.kubeconfig;
  const artifacts = await startArtifactServer();
  let module: ChildProcess | undefined;
  try {
    kubectl(plane.binDir, plane.kubeconfig, ["apply", "--server-side", "-f", join(root, "crds"), "-f", join(root, "test/fixtures/crds")]);
    kubectl(plane.binDir, plane.kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd/stagesets.stageset.dev", "crd/externalartifacts.source.toolkit.fluxcd.io"]);
    for (const name of [ns, "pepr-system"]) await K8s(kind.Namespace).Apply({ metadata: { name } });
    const pki = join(mkdtempSync(join(tmpdir(), "stageset-bench-pki-")), "pki");
    execFileSync(join(plane.binDir, "k8s-harness"), ["pki", pki]);
    const gatePort = await freePort();
    module = spawn(process.execPath, [bundleModule()], {
      cwd: root,
      env: { ...process.env, PEPR_WATCH_MODE: "true", PEPR_PORT: String(await freePort()), SSL_CERT_PATH: join(pki, "apiserver.crt"), SSL_KEY_PATH: join(pki, "apiserver.key"), STAGESET_WATCH_NAMESPACES: ns, STAGESET_GATE_ADDRESS: `127.0.0.1:${gatePort}`, STAGESET_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`, LOG_LEVEL: "warn", NODE_OPTIONS: watcherNodeOptions },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const pid = module.pid!;
    module.once("exit", code => {
      console.error(`the module exited (code ${code})`);
      process.exit(1);
    });
    const gate = (i: number) => `http://127.0.0.1:${gatePort}/gate/${ns}/ss-${i}/s`;
    while ((await fetch(gate(0)).catch(() => undefined))?.status !== 403) await sleep(200);
    await sleep(5_000);
    const base = { ...usage(pid), cpu: await idleCPU(pid, 15) };
    console.log(`baseline (no StageSets): idle CPU ${base.cpu.toFixed(2)}% of one core, RSS ${base.rssMiB.toFixed(0)} MiB`);

    const client = KubeClient.fromDefault();
    const t0 = performance.now();
    await mapBounded([...Array(stageSets).keys()], 16, async i => {
      await artifacts.publish({ namespace: ns, name: `src-${i}` }, { files: Object.fromEntries([...Array(objectsPer).keys()].map(j => [`cm-${j}.yaml`, cm(`ss-${i}-cm-${j}`)])) });
      await client.apply(`/apis/stageset.dev/v1alpha1/namespaces/${ns}/stagesets/ss-${i}`, { apiVersion: "stageset.dev/v1alpha1", kind: "StageSet", metadata: { name: `ss-${i}`, namespace: ns }, spec: { stages: [{ name: "s", sourceRef: { name: `src-${i}` } }] } });
    });
    for (;;) {
      const list = (await client.get<{ items: StageSet[] }>(`/apis/stageset.dev/v1alpha1/namespaces/${ns}/stagesets`)).body.items;
      const ready = list.filter(ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True")).length;
      if (ready === stageSets) break;
      if (performance.now() - t0 > 15 * 60_000) throw new Error(`only ${ready} of ${stageSets} Ready after 15 minutes`);
      await sleep(2_000);
    }
    console.log(`${stageSets} StageSets x ${objectsPer} ConfigMaps Ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(15_000); // let the last status writes and watch events settle
    const heldCPU = await idleCPU(pid, 30);
    const held = { ...usage(pid), cpu: heldCPU };
    console.log(`holding them (live health on): idle CPU ${held.cpu.toFixed(2)}% of one core (target < 2%), RSS ${held.rssMiB.toFixed(0)} MiB, peak RSS ${held.hwmMiB.toFixed(0)} MiB (target < 200 MiB)`);

    const latencies: number[] = [];
    for (let k = 0; k < 20; k++) {
      const i = Math.floor((k * stageSets) / 20);
      if ((await fetch(gate(i))).status !== 200) throw new Error(`ss-${i} is not open before its degradation`);
      const start = performance.now();
      await client.request("DELETE", `/api/v1/namespaces/${ns}/configmaps/ss-${i}-cm-3`);
      while ((await fetch(gate(i))).status !== 403) await sleep(5);
      latencies.push(performance.now() - start);
    }
    console.log(`degradation -> gate 403: p50 ${pct(latencies, 50).toFixed(0)} ms, p95 ${pct(latencies, 95).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms over ${latencies.length} (target p95 < 2 s)`);
    client.close();
  } finally {
    module?.removeAllListeners("exit");
    module?.kill("SIGKILL");
    await artifacts.stop();
    await plane.stop();
  }
}

runBench(main);
