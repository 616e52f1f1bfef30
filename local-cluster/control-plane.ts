// A real Kubernetes control plane on loopback for tests and the local run: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake nodes and pods,
// so a Deployment really becomes Available without a kubelet). Binaries come from
// scripts/build-harness.sh, cached outside the repo.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scriptOutput } from "./tools";

export interface ControlPlane {
  /** Path of an admin (system:masters) kubeconfig. */
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Work directory holding PKI, data and one log file per component. */
  dir: string;
  binDir: string;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Also run controller-manager, scheduler and kwok with one fake node (default true). */
  workloads?: boolean;
  /** Keep the work directory after stop, for post-mortems. */
  keepDir?: boolean;
  log?: (line: string) => void;
  /**
   * Serve real nodes (local-cluster/nodes/): the API server listens on this address of
   * the nodes' bridge (e.g. 198.18.0.1, which must already exist) instead of loopback,
   * its certificate also covers that address and the kubernetes Service IP 198.19.0.1, it
   * publishes itself as the `kubernetes` Service endpoint, pods get ServiceAccount tokens,
   * it reaches kubelets by their InternalIP and webhooks by endpoint IPs, and kwok's fake
   * node is left out. Unset (the default): loopback only, as before.
   */
  nodeAddress?: string;
}

const startTimeoutMs = 120_000;

// Children must not outlive a runner that dies without calling stop().
const running = new Set<ChildProcess>();
process.once("exit", () => running.forEach(child => child.kill("SIGKILL")));

/** Builds (or finds in the cache) the control-plane binaries and returns their directory. */
export function harnessBinDir(): string {
  return scriptOutput("scripts/build-harness.sh");
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const binDir = harnessBinDir();
  const dir = mkdtempSync(join(tmpdir(), "stageset-cp-"));
  const pki = join(dir, "pki");
  const procs: ChildProcess[] = [];
  const graceMs = new Map<ChildProcess, number>();
  const bin = (name: string) => join(binDir, name);
  const launch = (name: string, args: string[]) => {
    const out = openSync(join(dir, `${name}.log`), "a");
    const child = spawn(bin(name), args, { stdio: ["ignore", out, out] });
    child.on("exit", (code, signal) => log(`${name} exited (code ${code}, signal ${signal})`));
    procs.push(child);
    if (name === "kube-apiserver") graceMs.set(child, apiServerGraceMs);
    running.add(child);
    child.once("exit", () => running.delete(child));
    return child;
  };
  const stop = async () => {
    for (const child of procs.reverse()) await terminate(child, graceMs.get(child));
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const node = opts.nodeAddress;
    execFileSync(bin("k8s-harness"), ["pki", pki, ...(node ? ["--san", node, "--san", firstServiceIP] : [])]);
    const [etcdPort, etcdPeerPort, loopbackApiPort] = await freePorts(3);
    const apiPort = node ? (await freePorts(1, node))[0]! : loopbackApiPort!;
    const server = `https://${node ?? "127.0.0.1"}:${apiPort}`;

    launch("etcd", etcdArgs(dir, etcdPort!, etcdPeerPort!));
    await waitFor(() => httpOk(`http://127.0.0.1:${etcdPort}/health`), "etcd /health", dir, procs);
    log(`etcd ready on ${etcdPort}`);

    launch("kube-apiserver", node ? nodeModeApiServerArgs(apiServerArgs(pki, etcdPort!, apiPort), pki, node) : apiServerArgs(pki, etcdPort!, apiPort));
    const ca = readFileSync(join(pki, "ca.crt"));
    await waitFor(() => httpsOk(`${server}/readyz`, ca), "kube-apiserver /readyz", dir, procs);
    log(`kube-apiserver ready at ${server}`);

    const kubeconfig = join(dir, "admin.kubeconfig");
    writeFileSync(kubeconfig, adminKubeconfig(server, pki), { mode: 0o600 });

    if (opts.workloads ?? true) log(await startWorkloads({ launch, binDir, dir, pki, kubeconfig, fakeNodes: !node }));
    return { kubeconfig, server, dir, binDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface WorkloadsContext {
  launch: (name: string, args: string[]) => ChildProcess;
  binDir: string;
  dir: string;
  pki: string;
  kubeconfig: string;
  /** kwok and its fake node; real nodes bring their own kubelets instead. */
  fakeNodes: boolean;
}

/** Starts what makes workloads run: controller manager, scheduler and (unless real nodes) kwok. */
async function startWorkloads(c: WorkloadsContext): Promise<string> {
  const [kcmPort, schedPort] = await freePorts(2);
  c.launch("kube-controller-manager", controllerManagerArgs(c.pki, c.kubeconfig, kcmPort!));
  c.launch("kube-scheduler", schedulerArgs(c.kubeconfig, schedPort!));
  if (!c.fakeNodes) return "controller-manager and scheduler started";
  const stages = join(c.dir, "kwok-stages");
  execFileSync(join(c.binDir, "k8s-harness"), ["kwok-stages", stages]);
  c.launch("kwok", kwokArgs(c.kubeconfig, stages));
  kubectl(c.binDir, c.kubeconfig, ["apply", "-f", "-"], fakeNode);
  return "controller-manager, scheduler and kwok started";
}

/** Runs the harness's kubectl against a kubeconfig; returns stdout. */
export function kubectl(binDir: string, kubeconfig: string, args: string[], input?: string): string {
  return execFileSync(join(binDir, "kubectl"), ["--kubeconfig", kubeconfig, ...args], {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

function etcdArgs(dir: string, port: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  mkdirSync(join(dir, "etcd"), { recursive: true });
  return [
    `--data-dir=${join(dir, "etcd")}`,
    "--unsafe-no-fsync=true",
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    "--listen-metrics-urls=",
    "--log-level=warn",
  ];
}

function apiServerArgs(pki: string, etcdPort: number, apiPort: number): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${apiPort}`,
    `--tls-cert-file=${join(pki, "apiserver.crt")}`,
    `--tls-private-key-file=${join(pki, "apiserver.key")}`,
    `--client-ca-file=${join(pki, "client-ca.crt")}`,
    `--service-account-issuer=https://127.0.0.1:${apiPort}`,
    `--service-account-key-file=${join(pki, "sa.pub")}`,
    `--service-account-signing-key-file=${join(pki, "sa.key")}`,
    "--service-cluster-ip-range=198.19.0.0/16",
    "--allow-privileged=true",
    "--authorization-mode=RBAC",
    // No kubelet mounts tokens, and pods must not wait for a default ServiceAccount.
    "--disable-admission-plugins=ServiceAccount",
    // A loopback advertise address cannot be written to the kubernetes Endpoints.
    "--endpoint-reconciler-type=none",
    "--max-requests-inflight=0",
    "--max-mutating-requests-inflight=0",
    "--enable-priority-and-fairness=false",
  ];
}

/** The kubernetes Service's ClusterIP: the first address of --service-cluster-ip-range. */
const firstServiceIP = "198.19.0.1";

/** The loopback flags, changed for real nodes (see ControlPlaneOptions.nodeAddress). */
function nodeModeApiServerArgs(loopback: string[], pki: string, address: string): string[] {
  const dropped = ["--bind-address=", "--advertise-address=", "--disable-admission-plugins=ServiceAccount", "--endpoint-reconciler-type="];
  return [
    ...loopback.filter(arg => !dropped.some(d => arg.startsWith(d))),
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    // The API server calls kubelets (logs, exec) with the admin client certificate; the
    // kubelets trust the client CA.
    `--kubelet-client-certificate=${join(pki, "admin.crt")}`,
    `--kubelet-client-key=${join(pki, "admin.key")}`,
    "--kubelet-preferred-address-types=InternalIP",
    // Webhooks and aggregated APIs are called on endpoint (pod) IPs: the host has no kube-proxy.
    "--enable-aggregator-routing=true",
  ];
}

/** What the controller manager and the scheduler share: one instance each, on loopback, probes open. */
function componentArgs(kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
  ];
}

function controllerManagerArgs(pki: string, kubeconfig: string, port: number): string[] {
  return [
    ...componentArgs(kubeconfig, port),
    `--service-account-private-key-file=${join(pki, "sa.key")}`,
    `--root-ca-file=${join(pki, "ca.crt")}`,
    "--kube-api-qps=200",
    "--kube-api-burst=400",
    // A node whose heartbeat lags on a loaded machine (kwok's fake node under a full test run)
    // must not be marked NotReady: that marks every pod on it not ready and each Deployment
    // unavailable, which tests would take for the controller's doing.
    "--node-monitor-grace-period=5m",
  ];
}

function schedulerArgs(kubeconfig: string, port: number): string[] {
  return componentArgs(kubeconfig, port);
}

function kwokArgs(kubeconfig: string, stages: string): string[] {
  const files = ["node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"];
  return [
    `--kubeconfig=${kubeconfig}`,
    "--manage-all-nodes=true",
    ...files.flatMap(f => ["-c", join(stages, `${f}.yaml`)]),
  ];
}

// One fake node, managed by kwok; it fills in addresses, capacity and the Ready condition.
const fakeNode = `apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: { kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0" }
  labels: { kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok }
`;

function adminKubeconfig(server: string, pki: string): string {
  const b64 = (f: string) => readFileSync(join(pki, f)).toString("base64");
  return `apiVersion: v1
kind: Config
clusters:
- name: stageset-local
  cluster: { server: "${server}", certificate-authority-data: ${b64("ca.crt")} }
users:
- name: admin
  user: { client-certificate-data: ${b64("admin.crt")}, client-key-data: ${b64("admin.key")} }
contexts:
- name: stageset-local
  context: { cluster: stageset-local, user: admin }
current-context: stageset-local
`;
}

async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok, fail) => {
      const s = createServer();
      s.once("error", fail);
      s.listen(0, host, () => ok(s));
    })),
  );
  const ports = servers.map(s => (s.address() as { port: number }).port);
  await Promise.all(servers.map(s => new Promise(ok => s.close(ok))));
  return ports;
}

/** Polls until ready; fails at once if a component already exited (Ctrl-C, a crash). */
async function waitFor(probe: () => Promise<boolean>, what: string, dir: string, procs: ChildProcess[] = []): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    const dead = procs.find(p => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`${dead.spawnfile.split("/").at(-1)} exited while waiting for ${what}; logs in ${dir}`);
    await new Promise(ok => setTimeout(ok, 100));
  }
  throw new Error(`timed out after ${startTimeoutMs / 1000}s waiting for ${what}; logs in ${dir}`);
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

function httpsOk(url: string, ca: Buffer): Promise<boolean> {
  return new Promise(ok => {
    const req = request(url, { ca, timeout: 2000 }, res => {
      res.resume();
      ok(res.statusCode === 200);
    });
    req.on("error", () => ok(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

// The API server keeps nothing (etcd does, and stops after it), yet its graceful shutdown
// waits for clients' watches to end: with nodes attached it was killed after the full 10 s
// on every stop. So it gets one second, then SIGKILL: nothing is lost.
const apiServerGraceMs = 1_000;

async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise(ok => child.once("exit", ok));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
