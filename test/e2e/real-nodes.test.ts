// Real nodes: a control plane serving two real kubelets (containerd + runc, CNI bridge,
// kube-proxy, CoreDNS, a NetworkPolicy agent), each in network and mount namespaces of its
// own on this machine. Real pods run a static test HTTP server; a client pod checks
// Services by DNS name and ClusterIP, pod-to-pod traffic across nodes, a NetworkPolicy that
// denies ingress (and its removal), and its ServiceAccount token against the API server.
// Stopping must leave nothing behind.
//
// Part of `npm run e2e` (run by npm test): root, one node cluster per machine at a time, so
// the e2e project runs its files one after another.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeCluster, images, type NodeCluster } from "../../local-cluster/nodes";
import { eventually } from "./as-user";

const ns = "real-nodes";
let cluster: NodeCluster | undefined;
let stoppedLeft: string[] | undefined;

const log = (line: string) => process.stderr.write(`[real-nodes] ${line}\n`);
const k = (args: string[], input?: string) => cluster!.kubectl(args, input);
const json = <T>(args: string[]) => JSON.parse(k([...args, "-o", "json"])) as T;

/** Runs the test image's HTTP client in the client pod; returns stdout, throws on failure. */
const get = (url: string, ...flags: string[]) => k(["-n", ns, "exec", "client", "--", "/echo-server", "get", "-timeout", "2s", ...flags, url]);
const fails = (url: string) => {
  try {
    get(url);
    return false;
  } catch {
    return true;
  }
};

interface PodList {
  items: { metadata: { name: string }; spec: { nodeName?: string }; status: { podIP?: string; phase?: string } }[];
}

const namespace = `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
`;

const workload = `apiVersion: apps/v1
kind: Deployment
metadata: { name: echo, namespace: ${ns} }
spec:
  replicas: 2
  selector: { matchLabels: { app: echo } }
  template:
    metadata: { labels: { app: echo } }
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - { topologyKey: kubernetes.io/hostname, labelSelector: { matchLabels: { app: echo } } }
      containers:
      - name: echo
        image: ${images.echo}
        imagePullPolicy: Never
        ports: [{ name: http, containerPort: 8080 }]
        readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: ${ns} }
spec:
  selector: { app: echo }
  ports: [{ port: 80, targetPort: http }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: ${ns}, labels: { role: client } }
spec:
  nodeSelector: { kubernetes.io/hostname: node-1 }
  containers:
  - name: client
    image: ${images.echo}
    imagePullPolicy: Never
`;

/** A policy isolating the echo pods' ingress; with no rules it denies all of it. */
const echoIngressPolicy = (name: string, ingress = "") => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${ns} }
spec:
  podSelector: { matchLabels: { app: echo } }
  policyTypes: [Ingress]
${ingress}`;
const denyIngress = echoIngressPolicy("deny-ingress");
const allowFromClient = echoIngressPolicy("allow-client", "  ingress: [{ from: [{ podSelector: { matchLabels: { role: client } } }], ports: [{ port: http }] }]\n");

describe("real nodes", () => {
  beforeAll(async () => {
    const started = Date.now();
    cluster = await startNodeCluster({ nodes: 2, log, keepDirs: !!process.env.KEEP_REAL_NODES });
    log(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }, 60 * 60_000); // a cold build of the node tools is long

  afterAll(async () => {
    if (cluster && !stoppedLeft) await cluster.stop();
  }, 120_000);

  it("has both nodes Ready", () => {
    const nodes = json<{ items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] }>(["get", "nodes"]);
    expect(nodes.items.map(n => n.metadata.name).sort()).toEqual(["node-1", "node-2"]);
    for (const n of nodes.items) expect(n.status.conditions.find(c => c.type === "Ready")?.status).toBe("True");
  });

  it("runs a Deployment with one replica on each node, and a client pod", async () => {
    k(["apply", "-f", "-"], namespace);
    // Pods are admitted only once the controller manager has made the default ServiceAccount.
    await eventually("the default ServiceAccount", () => k(["-n", ns, "get", "serviceaccount", "default", "-o", "name"]));
    k(["apply", "-f", "-"], workload);
    k(["-n", ns, "rollout", "status", "deployment/echo", "--timeout=120s"]);
    k(["-n", ns, "wait", "--for=condition=Ready", "pod/client", "--timeout=120s"]);
    const pods = json<PodList>(["-n", ns, "get", "pods", "-l", "app=echo"]);
    expect(pods.items.map(p => p.spec.nodeName).sort()).toEqual(["node-1", "node-2"]);
    for (const p of pods.items) expect(p.status.podIP).toMatch(/^198\.18\.(128|129)\./);
  }, 180_000);

  it("reaches the Service by its DNS name and by its ClusterIP, with both replicas answering", async () => {
    const clusterIP = json<{ spec: { clusterIP: string } }>(["-n", ns, "get", "service", "echo"]).spec.clusterIP;
    expect(clusterIP).toMatch(/^198\.19\./);
    expect(await eventually("the Service by DNS name", () => get(`http://echo.${ns}.svc.cluster.local/`))).toContain("hello from echo-");
    expect(get(`http://${clusterIP}/`)).toContain("hello from echo-");
    const seen = new Set<string>();
    await eventually("answers from both replicas", () => {
      seen.add(get(`http://${clusterIP}/`).match(/hello from (\S+)/)![1]!);
      return seen.size === 2;
    });
  }, 120_000);

  it("reaches a pod on node 2 from a pod on node 1, and a NetworkPolicy denying ingress stops it until removed", async () => {
    const onNode2 = json<PodList>(["-n", ns, "get", "pods", "-l", "app=echo"]).items.find(p => p.spec.nodeName === "node-2")!;
    const url = `http://${onNode2.status.podIP}:8080/`;
    expect(get(url)).toContain(`hello from ${onNode2.metadata.name}`);

    k(["apply", "-f", "-"], denyIngress);
    await eventually("the deny policy to take effect", () => fails(url));
    expect(fails(`http://echo.${ns}.svc.cluster.local/`)).toBe(true);

    // An allow rule for the client's label opens the named port again, for that client only.
    k(["apply", "-f", "-"], allowFromClient);
    await eventually("the allow policy to take effect", () => get(url).includes("hello from"));
    k(["-n", ns, "delete", "networkpolicy", "allow-client"]);
    await eventually("the deny policy alone again", () => fails(url));

    k(["-n", ns, "delete", "networkpolicy", "deny-ingress"]);
    expect(await eventually("traffic after the policy is removed", () => get(url))).toContain("hello from");
  }, 120_000);

  it("gives pods their ServiceAccount token, which the API server accepts via kubernetes.default.svc", () => {
    const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
    const token = k(["-n", ns, "exec", "client", "--", "/echo-server", "get", "-timeout", "5s", "-ca", `${sa}/ca.crt`, "-token-file", `${sa}/token`,
      "-method", "POST", "-body", JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      "https://kubernetes.default.svc/apis/authentication.k8s.io/v1/selfsubjectreviews"]);
    expect(token).toContain(`"username":"system:serviceaccount:${ns}:default"`);
  }, 60_000);

  it("leaves nothing behind when stopped", async () => {
    const c = cluster!;
    const cpDir = c.controlPlane.dir;
    stoppedLeft = await c.stop();
    expect(stoppedLeft).toEqual([]);
    const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    for (const n of c.hostNames.netns) expect(netns).not.toContain(n);
    const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
    for (const l of [c.hostNames.bridge, ...c.hostNames.veths]) expect(links).not.toContain(l);
    // Every hierarchy, v1 and the hybrid host's cgroup2 (where runc mirrors container cgroups).
    const hierarchies = readdirSync("/sys/fs/cgroup");
    expect(hierarchies).toContain("memory");
    for (const root of c.hostNames.cgroupRoots) {
      for (const h of hierarchies) expect(existsSync(`/sys/fs/cgroup/${h}/${root}`)).toBe(false);
    }
    expect(existsSync(cpDir)).toBe(!!process.env.KEEP_REAL_NODES);
    expect(existsSync(c.dir)).toBe(!!process.env.KEEP_REAL_NODES);
    const ours = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")
      .filter(l => l.includes(c.dir) || l.includes(cpDir) || l.includes(c.nodeBinDir));
    expect(ours).toEqual([]);
    const routes = execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" });
    expect(routes).not.toMatch(/198\.18\./);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(c.dir);
  }, 120_000);
});
