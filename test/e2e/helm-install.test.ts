// The chart as users install it, on real nodes: `npm run build`, then `helm install stageset
// dist/stageset-controller-chart` with default values, as the README says (a real Helm built
// from its Go module). The watcher and admission pods must become Ready through their own
// probes; the demo release of examples/ rolled out by those pods goes Ready and its gate
// answers 200 to `curl -fsS` from an admitted namespace; uninstalling as the README says
// (StageSets first, then `helm uninstall`) leaves nothing stuck and keeps the StageSet CRD;
// and a StageSet left behind by uninstalling first is let go by removing its finalizer. The
// chart runs two watcher replicas: deleting the leader's pod mid-release keeps the gate
// Service answering every request of a 10 requests/s loop, and the other finishes the release;
// so does `helm upgrade`, which rolls both Deployments and leaves a Ready release as it was.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactServer } from "../../local-cluster/artifact-server";
import { curlClientImage, curlClientImageName } from "../../local-cluster/images/curl-client";
import { peprControllerImage, peprControllerImageName } from "../../local-cluster/images/pepr-controller";
import { startNodeCluster, type NodeCluster } from "../../local-cluster/nodes";
import { scriptOutput } from "../../local-cluster/tools";
import { asUser, eventually, invalidExprRefused, invalidExprStageSet, refusal, root, stageSetReady } from "./as-user";
import { demoNamespace, prepareDemo, startDemo } from "../../local-cluster/demo-release";
import { heldDeployment, heldLabel } from "./held-deployment";

let cluster: NodeCluster | undefined;
let artifacts: ArtifactServer | undefined;
const log = (line: string) => process.stderr.write(`[e2e-helm] ${line}\n`);
const k = (args: string[], input?: string) => cluster!.kubectl(args, input);
const helm = (args: string[]) => asUser(cluster!, join(scriptOutput("scripts/build-helm.sh"), "helm"), args, 600_000);
const names = (args: string[]) => k([...args, "-o", "name"]).split("\n").filter(Boolean);

/** The pod that holds the controller's Lease (its holder identity is `<pod>_<suffix>`). */
const leaseHolder = () => k(["-n", "pepr-system", "get", "lease", "stageset-controller-leader", "-o", "jsonpath={.spec.holderIdentity}"]).split("_")[0]!;
/** How many times each HTTP code came back. */
const tally = (codes: string[]) => Object.fromEntries([...new Set(codes)].map(c => [c, codes.filter(x => x === c).length]));

interface StageSetStatusOnly {
  status: { runStartedAt?: string; stages: { phase: string; lastAppliedTime?: string }[]; conditions: { type: string; lastTransitionTime: string }[] };
}

interface PodList {
  items: { metadata: { name: string; deletionTimestamp?: string }; status: { conditions?: { type: string; status: string }[] } }[];
}

/**
 * curl in the flagger-system client pod over the URLs of a glob, 10 per second, each on a new
 * connection (Connection: close), however each one ends; the HTTP code of each, 000 when it
 * got no answer. Asynchronous: the test goes on while it runs.
 */
function curlLoop(glob: string): Promise<string[]> {
  const args = ["--kubeconfig", cluster!.controlPlane.kubeconfig, "-n", "flagger-system", "exec", "curl", "--", "curl", "-sS", "--rate", "10/s", "-H", "Connection: close", "--connect-timeout", "2", "--max-time", "3", "-o", "/dev/null", "-w", "%{http_code}\\n", glob];
  return new Promise((ok, fail) => {
    const child = spawn(join(cluster!.controlPlane.binDir, "kubectl"), args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", d => (out += String(d)));
    child.stderr.on("data", d => (err += String(d)));
    child.on("error", fail);
    child.on("close", () => (out ? ok(out.split("\n").filter(Boolean)) : fail(new Error(`curl loop printed nothing: ${err}`))));
  });
}

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
    // Both replicas answer: the follower opens a stage once it has seen the leader's status
    // and followed the stage's objects itself, a moment after the leader. Six answers in a row
    // through the Service (which spreads them over both) must all be 200.
    const readyAt = Date.now();
    for (const stage of ["crds", "config", "app"]) {
      await eventually(`${stage} open on every replica`, () => Array.from({ length: 6 }, () => curl(`/gate/${demoNamespace}/demo/${stage}`)).every(body => /ready/i.test(body)), 60_000);
    }
    log(`every stage open through the Service ${((Date.now() - readyAt) / 1000).toFixed(1)} s after the StageSet was Ready`);
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

  it("runs two watcher replicas: deleting the leader's pod mid-release, the gate Service answers every request of a curl loop at 10/s, and the release completes", async () => {
    const watchers = () => (JSON.parse(k(["-n", "pepr-system", "get", "pods", "-l", "pepr.dev/controller=watcher", "-o", "json"])) as PodList).items;
    const ready = (p: PodList["items"][number]) => !p.metadata.deletionTimestamp && p.status.conditions?.some(c => c.type === "Ready" && c.status === "True");
    expect(watchers().filter(ready)).toHaveLength(2);
    expect(names(["-n", "pepr-system", "get", "poddisruptionbudget"])).toEqual(["poddisruptionbudget.policy/stageset-controller-watcher"]);
    const n = "e2e-ha";
    k(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`);
    await artifacts!.publish({ namespace: n, name: "first" }, { files: { "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: first }\ndata: { a: '1' }\n" } }, { label: "v1" });
    await artifacts!.publish({ namespace: n, name: "second" }, { files: { "web.yaml": heldDeployment("ha") } }, { label: "v1" });
    k(["apply", "-f", "-"], `apiVersion: stageset.dev/v1alpha1\nkind: StageSet\nmetadata: { name: ha, namespace: ${n} }\nspec:\n  stages:\n  - { name: first, sourceRef: { name: first } }\n  - { name: second, sourceRef: { name: second }, timeout: 10m }\n`);
    const phases = () => k(["-n", n, "get", "stageset", "ha", "-o", "jsonpath={.status.stages[*].phase}"]);
    await eventually("first Ready, second Waiting", () => phases() === "Ready Waiting", 180_000);
    const firstUID = k(["-n", n, "get", "configmap", "first", "-o", "jsonpath={.metadata.uid}"]);
    const leader = await eventually("a leader", () => watchers().find(p => p.metadata.name === leaseHolder())?.metadata.name);

    // 10 requests/s through the Service for 60 s, each on a new connection (so each is balanced anew):
    // long enough for the deleted pod's replacement to become ready and take requests too.
    const requests = 600;
    const loop = curlLoop(`http://stageset-controller-gate.pepr-system:8082/gate/${n}/ha/first?n=[1-${requests}]`);
    await new Promise(ok => setTimeout(ok, 5_000));
    const deletedAt = Date.now();
    k(["-n", "pepr-system", "delete", "pod", leader, "--wait=false"]);
    const next = await eventually("another leader", () => leaseHolder() !== leader && leaseHolder(), 60_000);
    const takeover = (Date.now() - deletedAt) / 1000;
    log(`leader pod ${leader} deleted; ${next} leads after ${takeover.toFixed(1)} s`);
    // The pod's SIGTERM reached the module, which released its Lease: not waited out (15 s).
    expect(takeover).toBeLessThan(8);
    k(["label", "node", cluster!.nodes[0]!.name, `${heldLabel}=ha`]);
    await stageSetReady(cluster!, n, "ha");
    await eventually("the deleted pod's replacement Ready", () => watchers().filter(ready).length === 2, 120_000);
    const replacedAt = Date.now();
    const codes = await loop;
    log(`replacement ready ${((replacedAt - deletedAt) / 1000).toFixed(1)} s after the deletion; the loop went on ${((Date.now() - replacedAt) / 1000).toFixed(1)} s more`);
    expect(Date.now() - replacedAt).toBeGreaterThan(5_000); // the new replica took part of the loop
    const counts = tally(codes);
    log(`curl loop through the gate Service while the leader pod went: ${JSON.stringify(counts)}`);
    expect(codes).toHaveLength(requests);
    expect(counts).toEqual({ "200": requests });
    expect(phases()).toBe("Ready Ready");
    expect(k(["-n", n, "get", "configmap", "first", "-o", "jsonpath={.metadata.uid}"])).toBe(firstUID); // nothing of the first stage redone
  }, 15 * 60_000);

  it("upgrades in place to a new build (its CRDs applied first, then helm upgrade --reset-then-reuse-values): the gate Service answers every request of a curl loop at 10/s, a Ready release is left as it was, and the new admission pods refuse a bad StageSet", async () => {
    const n = "e2e-ha";
    const watchers = () => names(["-n", "pepr-system", "get", "pods", "-l", "pepr.dev/controller=watcher"]);
    const admission = () => names(["-n", "pepr-system", "get", "pods", "-l", "pepr.dev/controller=admission"]);
    const webhookPaths = () => k(["get", "mutatingwebhookconfigurations,validatingwebhookconfigurations", "-o", "jsonpath={..clientConfig.service.path}"]);
    const oldPods = [...watchers(), ...admission()];
    const oldPaths = webhookPaths();
    expect(watchers()).toHaveLength(2);
    expect(admission().length).toBeGreaterThanOrEqual(1);
    // What a user would see change if the new controller redid the release or flapped it.
    const release = () => {
      const { status } = JSON.parse(k(["-n", n, "get", "stageset", "ha", "-o", "json"])) as StageSetStatusOnly;
      return {
        phases: status.stages.map(s => s.phase).join(" "),
        runStartedAt: status.runStartedAt,
        lastApplied: status.stages.map(s => s.lastAppliedTime),
        readySince: status.conditions.find(c => c.type === "Ready")?.lastTransitionTime,
        configMap: k(["-n", n, "get", "configmap", "first", "-o", "jsonpath={.metadata.uid}/{.metadata.resourceVersion}"]),
        deployment: k(["-n", n, "get", "deployment", "web", "-o", "jsonpath={.metadata.uid}/{.metadata.generation}"]),
      };
    };
    const before = release();
    expect(before.phases).toBe("Ready Ready");

    // A new build, as a user upgrades: a new module, webhook certificate and webhook path.
    await asUser(cluster!, "npm", ["run", "build"], 600_000);
    k(["apply", "--server-side", "-f", join(root, "dist/stageset-controller-chart/crds")]);

    // 10 requests/s for 90 s through the Service, each on a new connection; the upgrade starts
    // 5 s in. Meanwhile a StageSet is written every half second, to see what admission says.
    const requests = 900;
    const loop = curlLoop(`http://stageset-controller-gate.pepr-system:8082/gate/${n}/ha/second?n=[1-${requests}]`);
    const loopStarted = Date.now();
    await new Promise(ok => setTimeout(ok, 5_000));
    let upgrading = true;
    const writes = { accepted: 0, refused: 0 };
    const writing = (async () => {
      for (let i = 0; upgrading; i++) {
        try {
          k(["-n", n, "annotate", "--overwrite", "stageset", "ha", `e2e.stageset.dev/write=${i}`]);
          writes.accepted++;
        } catch {
          writes.refused++;
        }
        await new Promise(ok => setTimeout(ok, 500));
      }
    })();
    // A pod template change on both Deployments besides the new build's, so that both roll whatever the build changed.
    const stamp = String(Date.now());
    await helm(["upgrade", "stageset", "dist/stageset-controller-chart", "--reset-then-reuse-values", "--set-string", `watcher.podAnnotations.e2e-upgrade=${stamp},admission.podAnnotations.e2e-upgrade=${stamp}`, "--wait", "--timeout", "5m"]);
    const upgradedAfter = (Date.now() - loopStarted) / 1000;
    // Every pod is new (the old ones gone once their grace period ends), before the loop ends.
    const newWatchers = await eventually("only new pods", () => {
      const now = watchers();
      return now.length === 2 && [...now, ...admission()].every(p => !oldPods.includes(p)) && now;
    });
    const oldGoneAfter = (Date.now() - loopStarted) / 1000;
    upgrading = false;
    await writing;
    const codes = await loop;
    const loopSecs = (Date.now() - loopStarted) / 1000;
    const counts = tally(codes);
    log(`helm upgrade --wait done ${upgradedAfter.toFixed(1)} s and the old pods gone ${oldGoneAfter.toFixed(1)} s into a ${loopSecs.toFixed(1)} s curl loop: ${JSON.stringify(counts)}; StageSet writes meanwhile ${JSON.stringify(writes)}`);
    expect(webhookPaths()).not.toBe(oldPaths);
    expect(loopSecs - oldGoneAfter).toBeGreaterThan(3); // the loop outlasted the rollout
    expect(codes).toHaveLength(requests);
    expect(counts).toEqual({ "200": requests });

    const holder = await eventually("a new leader", () => {
      const id = leaseHolder();
      return newWatchers.includes(`pod/${id}`) && id;
    });
    log(`the Lease is held by ${holder}`);
    // The release was followed, not redone: no new run, no stage applied again, Ready since before, its objects as they were.
    expect(release()).toEqual(before);
    // The new admission pods serve the webhook, and StageSet writes are accepted again.
    expect(refusal(cluster!, ["apply", "-f", "-"], invalidExprStageSet(n))).toMatch(invalidExprRefused);
    k(["-n", n, "annotate", "--overwrite", "stageset", "ha", "e2e.stageset.dev/write=after"]);
  }, 15 * 60_000);

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
