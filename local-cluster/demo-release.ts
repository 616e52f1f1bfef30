// The demo release of examples/demo/, rolled out by the controller's pods on real nodes (the
// in-cluster try-out and the end-to-end tests): its artifacts served on the nodes' bridge
// (where the watcher pod downloads them, as it would
// from Flux's source-controller), Flux's ExternalArtifact CRD, and the ClusterRole a user adds
// so the controller may write the demo's own kind (Greeting), labelled for aggregation into
// the release ClusterRole as the README says. The one change: the Deployment runs an image
// every node holds (the nodes pull nothing), not nginx.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startArtifactServer, type ArtifactServer } from "./artifact-server";
import { bridgeAddress, images, type NodeCluster } from "./nodes";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const demoNamespace = "stageset-demo";
const stages = ["crds", "config", "app"] as const;

const greetingsRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: stageset-releases-greetings
  labels: { stageset.dev/aggregate-to-releases: "true" }
rules:
  - apiGroups: [demo.stageset.dev]
    resources: [greetings]
    verbs: [get, list, watch, create, update, patch, delete]
`;

/** What examples/demo/<stage> holds, with the Deployment's image replaced by one the nodes have. */
export function demoFiles(stage: string): Record<string, string> {
  const dir = join(root, "examples/demo", stage);
  return Object.fromEntries(readdirSync(dir).map(f => [f, readFileSync(join(dir, f), "utf8").replace(/image: nginx:\S+/, `image: ${images.echo}\n          imagePullPolicy: Never`)]));
}

/** Installs what the demo needs besides the controller and starts its artifact server. */
export async function prepareDemo(cluster: NodeCluster): Promise<ArtifactServer> {
  // The artifact server publishes through Pepr's client, which reads KUBECONFIG.
  process.env.KUBECONFIG = cluster.controlPlane.kubeconfig;
  const k = (args: string[], input?: string) => cluster.kubectl(args, input);
  k(["apply", "--server-side", "-f", join(root, "test/fixtures/crds/source.toolkit.fluxcd.io_externalartifacts.yaml")]);
  k(["wait", "--for=condition=Established", "crd/externalartifacts.source.toolkit.fluxcd.io", "--timeout=60s"]);
  k(["apply", "-f", "-"], greetingsRole);
  k(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${demoNamespace} }\n`);
  return startArtifactServer({ host: bridgeAddress });
}

/** Publishes the demo's three artifacts and applies examples/demo/stageset.yaml. */
export async function startDemo(cluster: NodeCluster, artifacts: ArtifactServer): Promise<void> {
  for (const stage of stages) await artifacts.publish({ namespace: demoNamespace, name: `demo-${stage}` }, { files: demoFiles(stage) }, { label: "v1" });
  cluster.kubectl(["apply", "-f", join(root, "examples/demo/stageset.yaml")]);
}

