// The chart as users install it, on real nodes: `npm run build`, then `helm install stageset
// dist/stageset-controller-chart` with default values, as the README says (a real Helm built
// from its Go module). The watcher and admission pods must become Ready through their own
// probes; `helm uninstall` must leave nothing that blocks the cluster (no webhook left
// pointing at pods that are gone), and keep the StageSet CRD, as the README says Helm does.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { peprControllerImage, peprControllerImageName } from "../../local-cluster/images/pepr-controller";
import { startNodeCluster, type NodeCluster } from "../../local-cluster/nodes";
import { scriptOutput } from "../../local-cluster/tools";
import { asUser } from "./as-user";

let cluster: NodeCluster | undefined;
const log = (line: string) => process.stderr.write(`[e2e-helm] ${line}\n`);
const k = (args: string[], input?: string) => cluster!.kubectl(args, input);
const helm = (args: string[]) => asUser(cluster!, join(scriptOutput("scripts/build-helm.sh"), "helm"), args, 600_000);
const names = (args: string[]) => k([...args, "-o", "name"]).split("\n").filter(Boolean);

describe("helm install of the built chart on real nodes", () => {
  beforeAll(async () => {
    cluster = await startNodeCluster({ nodes: 1, log });
    cluster.addImage(peprControllerImage());
    await asUser(cluster, "npm", ["run", "build"], 600_000);
  }, 60 * 60_000);

  afterAll(async () => {
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

  it("uninstalls: no Deployment or webhook left behind, the StageSet CRD kept", async () => {
    await helm(["uninstall", "stageset", "--wait", "--timeout", "5m"]);
    expect(names(["get", "deployments", "-n", "pepr-system"])).toEqual([]);
    const webhooks = [...names(["get", "mutatingwebhookconfigurations"]), ...names(["get", "validatingwebhookconfigurations"])];
    expect(webhooks.filter(w => w.includes("stageset"))).toEqual([]);
    expect(names(["get", "crd", "stagesets.stageset.dev"])).toEqual(["customresourcedefinition.apiextensions.k8s.io/stagesets.stageset.dev"]);
  }, 10 * 60_000);
});
