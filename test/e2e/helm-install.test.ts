// The chart as users install it, on real nodes: `npm run build`, then `helm install stageset
// dist/stageset-controller-chart` with default values, as the README says (a real Helm built
// from its Go module). The watcher and admission pods must become Ready through their own
// probes; the demo release of examples/ rolled out by those pods goes Ready and its gate
// answers 200 to `curl -fsS` from an admitted namespace; uninstalling as the README says
// (StageSets first, then `helm uninstall`) leaves nothing stuck and keeps the StageSet CRD;
// and a StageSet left behind by uninstalling first is let go by removing its finalizer.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactServer } from "../../local-cluster/artifact-server";
import { curlClientImage, curlClientImageName } from "../../local-cluster/images/curl-client";
import { peprControllerImage, peprControllerImageName } from "../../local-cluster/images/pepr-controller";
import { startNodeCluster, type NodeCluster } from "../../local-cluster/nodes";
import { scriptOutput } from "../../local-cluster/tools";
import { asUser, eventually, stageSetReady } from "./as-user";
import { demoNamespace, prepareDemo, startDemo } from "./demo-release";

let cluster: NodeCluster | undefined;
let artifacts: ArtifactServer | undefined;
const log = (line: string) => process.stderr.write(`[e2e-helm] ${line}\n`);
const k = (args: string[], input?: string) => cluster!.kubectl(args, input);
const helm = (args: string[]) => asUser(cluster!, join(scriptOutput("scripts/build-helm.sh"), "helm"), args, 600_000);
const names = (args: string[]) => k([...args, "-o", "name"]).split("\n").filter(Boolean);

describe("helm install of the built chart on real nodes", () => {
  beforeAll(async () => {
    cluster = await startNodeCluster({ nodes: 1, log });
    cluster.addImage(peprControllerImage());
    cluster.addImage(curlClientImage(cluster.nodeBinDir));
    await asUser(cluster, "npm", ["run", "build"], 600_000);
  }, 60 * 60_000);

  afterAll(async () => {
    await artifacts?.stop();
    await cluster?.stop();
  }, 120_000);

  it("installs with default values: the watcher and admission pods become Ready with their probes", async () => {
    await helm(["install", "stageset", "dist/stageset-controller-chart", "--wait", "--timeout", "10m"]);
    for (const d of ["pepr-stageset-controller", "pepr-stageset-controller-watcher"]) k(["-n", "pepr-system", "rollout", "status", `deployment/${d}`, "--timeout=300s"]);
    const pods = JSON.parse(k(["-n", "pepr-system", "get", "pods", "-o", "json"])) as { items: { spec: { containers: { image: string }[] }; status: { conditions?: { type: string; status: string }[] } }[] };
    expect(pods.items.length).toBeGreaterThanOrEqual(2);
    for (const p of pods.items) {
      expect(p.spec.containers[0]!.image).toBe(peprControllerImageName());
      expect(p.status.conditions?.find(c => c.type === "Ready")?.status).toBe("True");
    }
    expect(names(["get", "service", "-n", "pepr-system"])).toEqual(expect.arrayContaining(["service/stageset-controller-gate", "service/stageset-controller-metrics"]));
  }, 20 * 60_000);

  it("rolls out examples/demo through the chart's pods: every stage Ready, and curl -fsS at the gate answers 200 from flagger-system", async () => {
    artifacts = await prepareDemo(cluster!);
    await startDemo(cluster!, artifacts);
    await stageSetReady(cluster!, demoNamespace, "demo");
    const status = JSON.parse(k(["-n", demoNamespace, "get", "stageset", "demo", "-o", "json"])) as { status: { stages: { name: string; phase: string }[] } };
    expect(status.status.stages.map(s => `${s.name}=${s.phase}`)).toEqual(["crds=Ready", "config=Ready", "app=Ready"]);
    expect(k(["-n", demoNamespace, "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}"])).toBe("2");
    expect(k(["-n", demoNamespace, "get", "greeting", "hello", "-o", "jsonpath={.spec.message}"])).toBe("hello from stage config");
    // The artifacts came from the bridge: the watcher pod downloaded each one.
    expect([...artifacts.hits.keys()].filter(p => p.endsWith(".tar.gz"))).toHaveLength(3);

    k(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata: { name: flagger-system }\n");
    await eventually("the default ServiceAccount of flagger-system", () => k(["-n", "flagger-system", "get", "serviceaccount", "default", "-o", "name"]));
    k(["apply", "-f", "-"], `apiVersion: v1\nkind: Pod\nmetadata: { name: curl, namespace: flagger-system }\nspec: { containers: [{ name: curl, image: ${curlClientImageName}, imagePullPolicy: Never }] }\n`);
    k(["-n", "flagger-system", "wait", "--for=condition=Ready", "pod/curl", "--timeout=120s"]);
    const curl = (path: string) => k(["-n", "flagger-system", "exec", "curl", "--", "curl", "-fsS", "--max-time", "5", `http://stageset-controller-gate.pepr-system:8082${path}`]);
    for (const stage of ["crds", "config", "app"]) expect(curl(`/gate/${demoNamespace}/demo/${stage}`)).toMatch(/ready/i);
    // -f: a stage the gate does not know is an HTTP error, and curl fails with it.
    expect(() => curl(`/gate/${demoNamespace}/demo/nope`)).toThrow(/403/);
  }, 10 * 60_000);

  it("deletes a StageSet through the chart's pods: its objects pruned, last stage first, and its finalizer released", async () => {
    const members = () => names(["-n", demoNamespace, "get", "deployments,configmaps", "-l", "applyset.kubernetes.io/part-of"]);
    expect(members()).toEqual(["deployment.apps/web", "configmap/web-settings"]);
    k(["-n", demoNamespace, "delete", "stageset", "demo", "--wait=false"]);
    await eventually("the StageSet gone", () => names(["-n", demoNamespace, "get", "stageset"]).length === 0, 180_000);
    expect(members()).toEqual([]);
    expect(names(["get", "crd", "greetings.demo.stageset.dev", "--ignore-not-found"])).toEqual([]);
  }, 5 * 60_000);

  it("uninstalls: no Deployment or webhook left behind, the StageSet CRD kept", async () => {
    // A StageSet that still exists when the controller goes: the README's "remove the controller while StageSets exist".
    await startDemo(cluster!, artifacts!);
    await stageSetReady(cluster!, demoNamespace, "demo");
    // As the README says it (no --wait): then everything of the release must go by itself, pods included.
    await helm(["uninstall", "stageset"]);
    const started = Date.now();
    const webhooks = () => [...names(["get", "mutatingwebhookconfigurations"]), ...names(["get", "validatingwebhookconfigurations"])].filter(w => w.includes("stageset"));
    expect(webhooks()).toEqual([]);
    await eventually("no Deployment or pod left in pepr-system", () => names(["get", "deployments,pods", "-n", "pepr-system"]).length === 0, 180_000);
    log(`pepr-system emptied ${((Date.now() - started) / 1000).toFixed(1)} s after helm uninstall`);
    expect(names(["get", "crd", "stagesets.stageset.dev"])).toEqual(["customresourcedefinition.apiextensions.k8s.io/stagesets.stageset.dev"]);
  }, 10 * 60_000);

  it("lets go of a StageSet the uninstalled controller left, once its finalizer is removed by hand, and leaves its objects running", async () => {
    // Its delete waits for a controller that no longer runs ...
    k(["-n", demoNamespace, "delete", "stageset", "demo", "--wait=false"]);
    await new Promise(ok => setTimeout(ok, 3000));
    expect(k(["-n", demoNamespace, "get", "stageset", "demo", "-o", "jsonpath={.metadata.finalizers}"])).toContain("stageset.dev/finalizer");
    // ... until the finalizer is removed, exactly as the README says.
    k(["-n", demoNamespace, "patch", "stageset", "demo", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await eventually("the StageSet gone", () => names(["-n", demoNamespace, "get", "stageset"]).length === 0);
    expect(k(["-n", demoNamespace, "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}"])).toBe("2");
  }, 5 * 60_000);
});
