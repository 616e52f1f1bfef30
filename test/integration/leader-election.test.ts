// Two replicas of the module, as the watcher Deployment runs them, on one Lease: only the
// leader reconciles, both serve the gate from their own watches. Killing the leader (SIGKILL),
// pausing it past its lease (SIGSTOP, then SIGCONT) or stopping it (SIGTERM) mid-release
// hands the release to the other, which finishes it: every Job and ledger action once, and no
// write of the former leader lands after the takeover.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { K8s, kind } from "pepr";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { StageSet, type Stage } from "../../capabilities/api";
import { KubeClient } from "../../capabilities/kube";
import { leaseName } from "../../capabilities/leader";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { createTestNamespace, deleteTestNamespace, eventually } from "../harness/cluster";
import { spawnModule, type ModuleProcess } from "../harness/module-process";

let ns: string;
let artifacts: ArtifactServer;
let receiver: Server;
let base = "";
const deliveries: string[] = [];
const jobsCreated = new Map<string, Set<string>>();
const replicas: ModuleProcess[] = [];
let stopWatches = () => {};
/** Every status the StageSets went through, in order, by name. */
const history = new Map<string, StageSet["status"][]>();

beforeAll(async () => {
  ns = await createTestNamespace("leader");
  await K8s(kind.Namespace).Apply({ metadata: { name: "pepr-system" } }); // where Pepr keeps its store
  artifacts = await startArtifactServer();
  receiver = createServer((req, res) => {
    deliveries.push(String(req.headers["idempotency-key"]));
    req.resume();
    setTimeout(() => res.writeHead(200).end("ok"), 300);
  });
  await new Promise<void>(ok => receiver.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const jobs = K8s(kind.Job).InNamespace(ns).Watch((job, phase) => {
    if (phase === "ADDED") jobsCreated.set(job.metadata!.name!, (jobsCreated.get(job.metadata!.name!) ?? new Set()).add(job.metadata!.uid!));
  });
  const stageSets = K8s(StageSet).InNamespace(ns).Watch(ss => void history.set(ss.metadata!.name!, [...(history.get(ss.metadata!.name!) ?? []), ss.status]));
  await Promise.all([jobs.start(), stageSets.start()]);
  stopWatches = () => (jobs.close(), stageSets.close());
});

afterAll(async () => {
  stopWatches();
  await Promise.all(replicas.map(r => r.stop()));
  await new Promise<void>(ok => receiver.close(() => ok()));
  await artifacts?.stop();
  if (ns) await deleteTestNamespace(ns);
});

const byName = new Map<string, ModuleProcess>();

async function replica(name: string, env: Record<string, string> = {}): Promise<ModuleProcess> {
  const m = await spawnModule({
    namespaces: [ns],
    kubeconfig: inject("kubeconfig"),
    harnessBinDir: inject("harnessBinDir"),
    env: { HOSTNAME: name, STAGESET_LEADER_ELECTION: "true", STAGESET_LEASE_NAMESPACE: ns, STAGESET_ACTION_ALLOWLIST: "127.0.0.1", ...env },
  });
  replicas.push(m);
  byName.set(name, m);
  return m;
}

/** The replica holding the Lease, and the other one. */
async function roles(): Promise<{ leader: ModuleProcess; leaderName: string; other: ModuleProcess }> {
  const h = await eventually(holder, x => byName.has(x.split("_")[0]!), { what: "a leader among the replicas" });
  const leaderName = h.split("_")[0]!;
  const alive = [...byName].filter(([n, m]) => n !== leaderName && m.child.exitCode === null && m.child.signalCode === null);
  return { leader: byName.get(leaderName)!, leaderName, other: alive[0]![1] };
}

/** Waits until the Lease names another replica than `from`; the seconds since `since`. */
async function takeover(from: string, since: number): Promise<number> {
  await eventually(holder, h => !!h && h.split("_")[0] !== from, { what: `a leader other than ${from}`, timeoutMs: 60_000, intervalMs: 50 });
  return (Date.now() - since) / 1000;
}

/** Polls the gate of one stage at 20 requests/s, round robin over the given replicas, until stopped. */
function pollGate(path: string, targets: () => ModuleProcess[]) {
  const answers: { gate: string; status: number | "refused" }[] = [];
  let on = true;
  const loop = (async () => {
    for (let i = 0; on; i++) {
      const list = targets();
      const r = list[i % list.length]!;
      const status = await fetch(`${r.gate}${path}`).then(x => x.status, () => "refused" as const);
      answers.push({ gate: r.gate, status });
      await new Promise(ok => setTimeout(ok, 50));
    }
  })();
  return { answers, stop: async () => ((on = false), await loop) };
}

const mid = (name: string) => eventually(() => K8s(StageSet).InNamespace(ns).Get(name), ss => ss.status?.stages?.find(s => s.name === "db")?.phase === "Ready", { what: `${name} mid-release`, timeoutMs: 60_000 });
const live = (m: ModuleProcess) => m.child.exitCode === null && m.child.signalCode === null;

async function holder(): Promise<string> {
  const client = KubeClient.fromDefault();
  try {
    const res = await client.get<{ spec?: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${leaseName}`, { allow: [404] });
    return res.status === 404 ? "" : (res.body.spec?.holderIdentity ?? "");
  } finally {
    client.close();
  }
}
const job = { template: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "registry.invalid/migrate:1" }] } } } } };
const cms = (stage: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${stage}-${i}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${stage}-${i} }\ndata: { k: v }\n`]));

/** The artifact URLs of each release. */
const urls = new Map<string, string[]>();

/** A release of three stages with a Job and http actions, held between its stages by 2 s waits. */
async function release(name: string): Promise<void> {
  for (const s of ["db", "app", "end"]) urls.set(name, [...(urls.get(name) ?? []), (await artifacts.publish({ namespace: ns, name: `${name}-${s}` }, { files: cms(`${name}-${s}`, 5) })).url]);
  const stages: Stage[] = [
    { name: "db", sourceRef: { name: `${name}-db` }, actions: { pre: [{ name: "migrate", job, timeout: "2m" }], post: [{ name: "smoke-db", http: { method: "GET", url: `${base}/${name}/db` } }, { name: "hold-db", wait: { duration: "2s" } }] } },
    { name: "app", sourceRef: { name: `${name}-app` }, actions: { pre: [{ name: "notify", http: { method: "POST", url: `${base}/${name}/notify`, body: "{}" } }], post: [{ name: "hold-app", wait: { duration: "2s" } }] } },
    { name: "end", sourceRef: { name: `${name}-end` }, actions: { post: [{ name: "done", http: { method: "GET", url: `${base}/${name}/done` } }] } },
  ];
  await K8s(StageSet).Apply({ metadata: { name, namespace: ns }, spec: { stages } });
}

const readyNow = (ss: StageSet) => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True" && c.observedGeneration === ss.metadata?.generation) ?? false;
const finished = (name: string) => eventually(() => K8s(StageSet).InNamespace(ns).Get(name), readyNow, { what: `${name} Ready`, timeoutMs: 120_000 });

/**
 * Each action ran once: one ledger attempt, one http attempt (key), one Job; and the ledger
 * never went back. The one repeat allowed is the documented one: an http request whose
 * attempt the failover cut off before the ledger recorded it, re-sent by the new leader with
 * the same Idempotency-Key (so a receiver that honours the key sees it once).
 */
function ranOnce(name: string, done: StageSet): void {
  expect((done.status?.actions ?? []).map(a => `${a.name}:${a.phase}:${a.attempts}`).sort()).toEqual(["done", "hold-app", "hold-db", "migrate", "notify", "smoke-db"].map(a => `${a}:Succeeded:1`));
  const keys = deliveries.filter(k => k.startsWith(`${ns}/${name}/`));
  expect(new Set(keys).size).toBe(3);
  const resent = keys.length - 3;
  expect(resent).toBeLessThanOrEqual(1); // one failover, at most one attempt in flight
  if (resent) console.log(`${name}: one http attempt cut off by the failover was re-sent with its Idempotency-Key`);
  const jobs = [...jobsCreated].filter(([n]) => n.includes(name));
  expect(jobs.map(([, uids]) => uids.size)).toEqual([1]);
  // A write from a replica that lost the Lease would show as a step back: an action that had succeeded, running again or gone.
  let succeeded = new Set<string>();
  for (const status of history.get(name) ?? []) {
    const now = new Set((status?.actions ?? []).filter(a => a.phase === "Succeeded").map(a => a.name));
    for (const a of succeeded) expect(now.has(a), `${a} went back after it had succeeded`).toBe(true);
    succeeded = now;
  }
}

describe("two replicas on one Lease", () => {
  it("one leads and reconciles; the other follows, and both gates answer from live health", async () => {
    const [a, b] = [await replica("replica-a"), await replica("replica-b")];
    const leader = await eventually(holder, h => h.startsWith("replica-"), { what: "a leader" });
    await release("first");
    const done = await finished("first");
    ranOnce("first", done);
    for (const r of [a, b]) for (const stage of ["db", "app", "end"]) await eventually(() => fetch(`${r.gate}/gate/${ns}/first/${stage}`).then(x => x.status), s => s === 200, { what: `${stage} open on ${r.gate}` });
    expect(await holder()).toBe(leader); // no change of leader while both run
    // Both export the gauge (deduplicated in PromQL with max by (namespace, stageset, stage)).
    for (const r of [a, b]) expect(await fetch(`${r.metrics}/metrics`).then(x => x.text())).toContain(`stageset_stage_ready{namespace="${ns}",stageset="first",stage="end"} 1`);
    // Live health on the follower too: a deleted object closes both gates.
    await K8s(kind.ConfigMap).InNamespace(ns).Delete("first-app-2");
    for (const r of [a, b]) await eventually(() => fetch(`${r.gate}/gate/${ns}/first/app`).then(x => x.status), s => s === 403, { what: `app closed on ${r.gate}` });
  }, 180_000);

  it("SIGKILL of the leader mid-release: the other takes over after the lease, finishes the release, and its gate never refuses", async () => {
    await release("second");
    await mid("second");
    const { leader, leaderName, other } = await roles();
    // Clients go through a Service: the killed replica drops out of the rotation, the other stays.
    const poll = pollGate(`/gate/${ns}/second/end`, () => [leader, other].filter(live));
    await new Promise(ok => setTimeout(ok, 500));
    const killedAt = Date.now();
    await leader.stop(); // SIGKILL
    const seconds = await takeover(leaderName, killedAt);
    console.log(`SIGKILL: takeover after ${seconds.toFixed(1)} s`);
    const replacement = replica("replica-c"); // as the Deployment would start one
    expect(seconds).toBeLessThan(15 + 2 + 1); // the lease, the retry period, and a busy machine's second
    ranOnce("second", await finished("second"));
    await eventually(async () => poll.answers.at(-1)?.status, s => s === 200, { what: "the survivor's gate open" });
    await poll.stop();
    // Refused only by the killed replica (a request in flight as it died), never by the survivor.
    expect(poll.answers.filter(a => a.status === "refused" && a.gate !== leader.gate)).toEqual([]);
    const answered = poll.answers.filter(a => a.status !== "refused");
    expect(new Set(answered.map(a => a.status))).toEqual(new Set([403, 200]));
    // Once open it stays open: no wrong answer across the failover.
    const firstOpen = answered.findIndex(a => a.status === 200);
    expect(answered.slice(firstOpen).filter(a => a.status !== 200)).toEqual([]);
    await replacement;
  }, 240_000);

  it("SIGSTOP of the leader past its lease, then SIGCONT: the other takes over and finishes, and nothing the paused one does lands", async () => {
    await release("third");
    await mid("third");
    const { leader, leaderName } = await roles();
    const stoppedAt = Date.now();
    leader.child.kill("SIGSTOP");
    try {
      const seconds = await takeover(leaderName, stoppedAt);
      console.log(`SIGSTOP: takeover after ${seconds.toFixed(1)} s`);
      ranOnce("third", await finished("third"));
    } finally {
      leader.child.kill("SIGCONT");
    }
    // Awake, it finds it no longer leads: no status of its lands (the ledger never steps back) and it runs nothing again.
    await new Promise(ok => setTimeout(ok, 5_000));
    ranOnce("third", await K8s(StageSet).InNamespace(ns).Get("third"));
    expect((await holder()).split("_")[0]).not.toBe(leaderName);
    // It still serves its gate, from its own watches.
    expect((await fetch(`${leader.gate}/gate/${ns}/third/end`)).status).toBe(200);
  }, 240_000);

  it("SIGTERM of the leader: it releases the Lease and exits, and the other takes over within 3 s", async () => {
    const { leader, leaderName } = await roles();
    const termAt = Date.now();
    const exited = new Promise<number>(ok => leader.child.once("exit", () => ok((Date.now() - termAt) / 1000)));
    leader.child.kill("SIGTERM");
    const seconds = await takeover(leaderName, termAt);
    console.log(`SIGTERM: exited after ${(await exited).toFixed(1)} s, takeover after ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(3);
    expect(await exited).toBeLessThan(4);
  }, 60_000);

  it("a replica that starts is not ready (its readiness probe) until it has followed every StageSet; once ready, its gate answers as the leader's", async () => {
    // Its own first download of the first release's artifacts is slow: meanwhile it cannot know that release's health.
    for (const url of urls.get("first")!) artifacts.delay(url, 5_000);
    const fresh = await replica("replica-d");
    const readyz = () => fetch(`${fresh.metrics}/readyz`).then(x => x.status);
    expect(await readyz()).toBe(503);
    await eventually(readyz, s => s === 200, { what: "replica-d ready", timeoutMs: 90_000, intervalMs: 100 });
    // At once, it answers what the leader answers (every stage below is open there).
    const { leader } = await roles();
    const open = [...["second", "third"].flatMap(n => ["db", "app", "end"].map(s => `${n}/${s}`)), "first/db", "first/end"];
    for (const path of open) expect((await fetch(`${leader.gate}/gate/${ns}/${path}`)).status, `${path} on the leader`).toBe(200);
    expect(await Promise.all(open.map(path => fetch(`${fresh.gate}/gate/${ns}/${path}`).then(x => `${path}:${x.status}`)))).toEqual(open.map(path => `${path}:200`));
  }, 120_000);

  it("a replica that cannot follow a verified stage (its artifact no longer matches its digest) stays not ready until its sync deadline, then is ready with that gate closed", async () => {
    const [db] = urls.get("second")!;
    artifacts.tamper(db!, Buffer.from("not the artifact"));
    const startedAt = Date.now();
    const stuck = await replica("replica-e", { STAGESET_SYNC_DEADLINE: "12s" });
    const readyz = () => fetch(`${stuck.metrics}/readyz`).then(x => x.status);
    await new Promise(ok => setTimeout(ok, 6_000));
    expect(await readyz()).toBe(503); // every other StageSet followed by now (a replica is ready in ~2 s); not that stage
    await eventually(readyz, s => s === 200, { what: "replica-e ready at its deadline", timeoutMs: 60_000, intervalMs: 200 });
    expect(Date.now() - startedAt).toBeGreaterThan(12_000);
    expect((await fetch(`${stuck.gate}/gate/${ns}/second/db`)).status).toBe(403); // what it could not follow stays closed
    expect((await fetch(`${stuck.gate}/gate/${ns}/second/end`)).status).toBe(200);
    const { leader } = await roles();
    expect((await fetch(`${leader.gate}/gate/${ns}/second/db`)).status).toBe(200);
  }, 120_000);
});
