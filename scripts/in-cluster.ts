// The in-cluster try-out (npm run start:in-cluster, as root): one real node on this machine,
// then exactly what a user does with a cluster: `npm run build`, `helm install stageset
// dist/stageset-controller-chart`, and the demo release of examples/ rolled out by the
// controller's pods; the gate asked with curl from a pod in flagger-system, through its
// Service. Then it keeps the cluster up for kubectl until Ctrl-C, and removes all of it.
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { demoNamespace, prepareDemo, startDemo } from "../local-cluster/demo-release";
import { curlClientImage, curlClientImageName } from "../local-cluster/images/curl-client";
import { peprControllerImage } from "../local-cluster/images/pepr-controller";
import { startNodeCluster, type NodeCluster } from "../local-cluster/nodes";
import { scriptOutput } from "../local-cluster/tools";
import { stopSignal } from "./stop-signal";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const say = (line: string) => process.stdout.write(`[in-cluster] ${line}\n`);
const sleep = (ms: number) => new Promise(ok => setTimeout(ok, ms));

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("real nodes need root (network namespaces, cgroups, containerd): run it as root");
  let cluster: NodeCluster | undefined;
  // Ctrl-C may come at any point, setup included. A cluster still starting is removed by its own
  // reaper once this process is gone.
  const shutdown = async (code: number) => {
    say("stopping");
    await cluster?.stop();
    process.exit(code);
  };
  void stopSignal().then(() => shutdown(0));
  try {
    cluster = await startNodeCluster({ nodes: 1, log: say });
    const c = cluster;
    c.addImage(peprControllerImage());
    c.addImage(curlClientImage(c.nodeBinDir));
    const env = { ...process.env, KUBECONFIG: c.controlPlane.kubeconfig };
    const run = async (cmd: string, args: string[]) => {
      say(`$ ${[cmd.split("/").at(-1), ...args].join(" ")}`);
      await promisify(execFile)(cmd, args, { cwd: root, env, maxBuffer: 64 << 20, timeout: 900_000 });
    };
    await run("npm", ["run", "build"]);
    await run(join(scriptOutput("scripts/build-helm.sh"), "helm"), ["install", "stageset", "dist/stageset-controller-chart", "--wait", "--timeout", "10m"]);
    const artifacts = await prepareDemo(c);
    await startDemo(c, artifacts);
    say(`applied examples/demo/stageset.yaml in namespace ${demoNamespace}; waiting for it to be Ready`);
    const k = (args: string[], input?: string) => c.kubectl(args, input);
    const phases = () => k(["-n", demoNamespace, "get", "stageset", "demo", "-o", "jsonpath={range .status.stages[*]}{.name}={.phase} {end}"]).trim();
    let shown = "";
    for (let ready = ""; ready !== "True"; await sleep(500)) {
      if (phases() !== shown) say(`demo: ${(shown = phases())}`);
      ready = k(["-n", demoNamespace, "get", "stageset", "demo", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`]);
    }
    say("demo: Ready");
    k(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: flagger-system }\n---\napiVersion: v1\nkind: Pod\nmetadata: { name: curl, namespace: flagger-system }\nspec: { containers: [{ name: curl, image: ${curlClientImageName}, imagePullPolicy: Never }] }\n`);
    k(["-n", "flagger-system", "wait", "--for=condition=Ready", "pod/curl", "--timeout=120s"]);
    // Each watcher replica answers; the follower opens a stage a moment after the leader: ask
    // until the answer is 200 (for at most 30 s) and say how long that took.
    for (const stage of ["crds", "config", "app"]) {
      const url = `http://stageset-controller-gate.pepr-system:8082/gate/${demoNamespace}/demo/${stage}`;
      const asked = Date.now();
      let code = "";
      while ((code = k(["-n", "flagger-system", "exec", "curl", "--", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url])) !== "200" && Date.now() - asked < 30_000) await sleep(500);
      const waited = Date.now() - asked > 1_000 ? ` (after ${((Date.now() - asked) / 1000).toFixed(1)} s)` : "";
      say(`curl ${url} (from a pod in flagger-system): ${code}${waited}`);
    }
    say(`the cluster stays up: export KUBECONFIG=${c.controlPlane.kubeconfig}; try kubectl get stagesets -A, kubectl -n pepr-system get pods`);
    say("Ctrl-C removes it all");
    setInterval(() => {}, 60_000); // up until then
  } catch (err) {
    process.stderr.write(`[in-cluster] ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
  }
}

void main();
