// The product as users install it, on real nodes: `npm run build`, then `npx pepr deploy
// --yes` against a cluster of real kubelets, then `kubectl apply --server-side -f
// dist/stageset-extras.yaml`, exactly as the README says. The Pepr controller image is built
// here under the name the generated manifests reference. The watcher and admission pods
// must become Ready through their own probes, and stopping leaves nothing behind.
//
// Part of `npm run e2e` (run by npm test): root, one node cluster per machine at a time, so
// the e2e project runs its files one after another.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { peprControllerImage, peprControllerImageName } from "../../local-cluster/images/pepr-controller";
import { images, startNodeCluster, type NodeCluster } from "../../local-cluster/nodes";
import { asUser, eventually, invalidExprRefused, invalidExprStageSet, refusal as refusalOf, root, stageSetReady } from "./as-user";
import { prepareDemo } from "../../local-cluster/demo-release";
import { heldDeployment, heldLabel } from "./held-deployment";
import type { ArtifactServer } from "../../local-cluster/artifact-server";

const ns = "pepr-system";
let cluster: NodeCluster | undefined;
let stoppedLeft: string[] | undefined;
let artifacts: ArtifactServer | undefined;

const log = (line: string) => process.stderr.write(`[e2e-pepr] ${line}\n`);
const k = (args: string[], input?: string) => cluster!.kubectl(args, input);
const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

/** What the client pod of namespace n gets from url: "STATUS\nbody", or "|" and the error when no answer came. */
function ask(n: string, url: string): string {
  try {
    return k(["-n", n, "exec", "client", "--", "/echo-server", "get", "-timeout", "3s", url]);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return e.stdout ? e.stdout : `|${e.stderr ?? ""} ${(err as Error).message}`;
  }
}

const refusal = (args: string[], input: string) => refusalOf(cluster!, args, input);

interface StageSetJSON {
  status?: { stages?: { name: string; phase: string; appliedRevision?: string; appliedDigest?: string }[] };
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec: { nodeName?: string; containers: { image: string; readinessProbe?: { httpGet?: { port: number; scheme?: string; path?: string } } }[] };
    status: { conditions?: { type: string; status: string }[]; containerStatuses?: { ready: boolean; restartCount: number }[] };
  }[];
}

describe("npx pepr deploy on real nodes", () => {
  beforeAll(async () => {
    const started = Date.now();
    cluster = await startNodeCluster({ nodes: 2, log, keepDirs: !!process.env.KEEP_REAL_NODES });
    log(`cluster up in ${secs(started)}`);
    const imageStarted = Date.now();
    cluster.addImage(peprControllerImage());
    log(`controller image ${peprControllerImageName()} built and imported in ${secs(imageStarted)}`);
  }, 60 * 60_000);

  afterAll(async () => {
    await artifacts?.stop();
    if (cluster && !stoppedLeft) await cluster.stop();
  }, 120_000);

  it("builds the module, deploys it with npx pepr deploy, and its pods become Ready with their probes", async () => {
    let t = Date.now();
    await asUser(cluster!, "npm", ["run", "build"], 600_000);
    log(`npm run build in ${secs(t)}`);
    t = Date.now();
    // pepr deploy waits itself until every Deployment in pepr-system is ready.
    await asUser(cluster!, "npx", ["pepr", "deploy", "--yes"], 600_000);
    log(`npx pepr deploy in ${secs(t)}`);
    expect(existsSync(join(root, "dist/stageset-extras.yaml"))).toBe(true);
    k(["apply", "--server-side", "-f", join(root, "dist/stageset-extras.yaml")]);
    for (const d of ["pepr-stageset-controller", "pepr-stageset-controller-watcher"]) {
      k(["-n", ns, "rollout", "status", `deployment/${d}`, "--timeout=300s"]);
    }
    const pods = JSON.parse(k(["-n", ns, "get", "pods", "-o", "json"])) as PodList;
    const roles = pods.items.map(p => p.metadata.labels?.["pepr.dev/controller"]).sort();
    expect(roles).toContain("admission");
    expect(roles).toContain("watcher");
    for (const p of pods.items) {
      const c = p.spec.containers[0]!;
      expect(c.image).toBe(peprControllerImageName());
      // Ready through the probe Pepr generates: HTTPS /healthz on 3000, answered by the pod.
      expect(c.readinessProbe?.httpGet).toMatchObject({ path: "/healthz", port: 3000, scheme: "HTTPS" });
      expect(p.status.conditions?.find(x => x.type === "Ready")?.status).toBe("True");
    }
  }, 20 * 60_000);

  it("refuses a bad StageSet through the admission pods' webhook, naming the field", async () => {
    k(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata: { name: e2e-admission }\n");
    // The API server calls the webhook on the admission pods' addresses (a real network path).
    expect(refusal(["apply", "-f", "-"], invalidExprStageSet("e2e-admission"))).toMatch(invalidExprRefused);
    expect(refusal(["-n", "e2e-admission", "get", "stageset", "bad"], "")).toMatch(/NotFound|not found/);
  }, 120_000);

  it("records an approval through the admission pods only for a user RBAC allows to approve (their SubjectAccessReview)", async () => {
    const gated = `apiVersion: stageset.dev/v1alpha1
kind: StageSet
metadata: { name: gated, namespace: e2e-admission }
spec:
  stages:
  - name: a
    sourceRef: { name: src }
    promotion: { approval: Required }
`;
    k(["apply", "-f", "-"], gated);
    k(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "editor", namespace: "e2e-admission" }, rules: [{ apiGroups: ["stageset.dev"], resources: ["stagesets"], verbs: ["get", "patch"] }] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "bob", namespace: "e2e-admission" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "editor" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "bob" }] },
    ] }));
    const annotate = ["-n", "e2e-admission", "annotate", "--overwrite", "stageset/gated", "stageset.dev/approve=a@v1@sha256:0"];
    expect(refusal([...annotate, "--as", "bob"], "")).toMatch(/user "bob" may not approve StageSet e2e-admission\/gated: approving takes the "approve" verb/);
    k(annotate); // the cluster admin may approve
    const record = JSON.parse(k(["-n", "e2e-admission", "get", "stageset", "gated", "-o", "jsonpath={.metadata.annotations.stageset\\.dev/approvals}"])) as { stage: string; revision: string; approvedBy: string }[];
    const admin = k(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).trim();
    expect(record).toEqual([expect.objectContaining({ stage: "a", revision: "v1@sha256:0", approvedBy: admin })]);
  }, 120_000);

  it("serves the gate through its Service by DNS name to an admitted namespace, metrics to monitoring, and our NetworkPolicy drops every other namespace", async () => {
    for (const n of ["flagger-system", "monitoring", "e2e-outsider"]) {
      k(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`);
      await eventually(`the default ServiceAccount of ${n}`, () => k(["-n", n, "get", "serviceaccount", "default", "-o", "name"]));
      k(["apply", "-f", "-"], `apiVersion: v1\nkind: Pod\nmetadata: { name: client, namespace: ${n} }\nspec: { containers: [{ name: client, image: ${images.echo}, imagePullPolicy: Never }] }\n`);
      k(["-n", n, "wait", "--for=condition=Ready", "pod/client", "--timeout=120s"]);
    }
    // The gate answers 403 for a stage it does not know: an answer, through DNS, the Service and kube-proxy.
    const gate = "http://stageset-controller-gate.pepr-system:8082/gate/e2e/unknown/stage";
    const metrics = "http://stageset-controller-metrics.pepr-system:8080/metrics";
    expect(await eventually("the gate from flagger-system", () => ask("flagger-system", gate).startsWith("403 Forbidden") && ask("flagger-system", gate))).toContain("not ready");
    expect(await eventually("metrics from monitoring", () => ask("monitoring", metrics).startsWith("200 OK") && ask("monitoring", metrics))).toContain("stageset_");
    // From a namespace the policy does not admit, no answer at all: the packets are dropped.
    for (const url of [gate, metrics]) expect(ask("e2e-outsider", url)).toMatch(/^\|.*(deadline|timeout|Timeout)/s);
    expect(ask("flagger-system", metrics)).toMatch(/^\|.*(deadline|timeout|Timeout)/s); // gate port only
  }, 300_000);

  it("finishes a release after its watcher pod is deleted mid-release: the new pod carries on, nothing lost", async () => {
    artifacts = await prepareDemo(cluster!);
    const n = "e2e-midway";
    k(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`);
    await artifacts.publish({ namespace: n, name: "first" }, { files: { "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: first }\ndata: { a: '1' }\n" } }, { label: "v1" });
    // The second stage cannot be Ready until a node carries this label: the release is held mid-way for as long as the test wants.
    await artifacts.publish({ namespace: n, name: "second" }, { files: { "web.yaml": heldDeployment("midway") } }, { label: "v1" });
    k(["apply", "-f", "-"], `apiVersion: stageset.dev/v1alpha1
kind: StageSet
metadata: { name: midway, namespace: ${n} }
spec:
  stages:
  - { name: first, sourceRef: { name: first } }
  - { name: second, sourceRef: { name: second }, timeout: 10m }
`);
    const phases = () => (JSON.parse(k(["-n", n, "get", "stageset", "midway", "-o", "json"])) as StageSetJSON).status?.stages?.map(s => `${s.name}=${s.phase}`).join(",");
    await eventually("first Ready, second Waiting", () => phases() === "first=Ready,second=Waiting", 180_000);
    const before = JSON.parse(k(["-n", n, "get", "stageset", "midway", "-o", "json"])) as StageSetJSON;
    const firstUID = k(["-n", n, "get", "configmap", "first", "-o", "jsonpath={.metadata.uid}"]);

    const watcher = () => (JSON.parse(k(["-n", ns, "get", "pods", "-l", "pepr.dev/controller=watcher", "-o", "json"])) as PodList).items;
    const old = watcher().map(p => p.metadata.name);
    expect(old).toHaveLength(1);
    k(["-n", ns, "delete", "pod", old[0]!, "--wait=false"]);
    await eventually("a new watcher pod Ready", () => watcher().some(p => !old.includes(p.metadata.name) && p.status.conditions?.some(c => c.type === "Ready" && c.status === "True")), 300_000);
    expect(phases()).toBe("first=Ready,second=Waiting");

    k(["label", "node", cluster!.nodes[0]!.name, `${heldLabel}=midway`]);
    await stageSetReady(cluster!, n, "midway");
    const after = JSON.parse(k(["-n", n, "get", "stageset", "midway", "-o", "json"])) as StageSetJSON;
    expect(phases()).toBe("first=Ready,second=Ready");
    // Nothing of the first stage was lost or redone: the same revision, the same object.
    const applied = (j: StageSetJSON) => [j.status!.stages![0]!.appliedRevision, j.status!.stages![0]!.appliedDigest];
    expect(applied(before)[0]).toMatch(/^v1@sha256:/);
    expect(applied(after)).toEqual(applied(before));
    expect(k(["-n", n, "get", "configmap", "first", "-o", "jsonpath={.metadata.uid}"])).toBe(firstUID);
    expect(k(["-n", n, "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}"])).toBe("1");
    for (const stage of ["first", "second"]) expect(ask("flagger-system", `http://stageset-controller-gate.pepr-system:8082/gate/${n}/midway/${stage}`)).toMatch(/^200 OK/);
  }, 15 * 60_000);

  it("leaves nothing behind when stopped", async () => {
    const c = cluster!;
    stoppedLeft = await c.stop();
    expect(stoppedLeft).toEqual([]);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toMatch(/stageset-/);
    expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toContain(c.hostNames.bridge);
    expect(execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" })).not.toMatch(/198\.18\./);
    const ours = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")
      .filter(l => l.includes(c.dir) || l.includes(c.controlPlane.dir) || l.includes(c.nodeBinDir));
    expect(ours).toEqual([]);
  }, 120_000);
});
