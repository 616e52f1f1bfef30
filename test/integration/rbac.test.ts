// Least privilege, proven: the controller runs as the ServiceAccount the install creates,
// with exactly the rules the build ships (package.json pepr.rbac for the controller itself,
// deploy/chart's aggregated release role for the objects of releases), and rolls out the
// demo release. A kind the release role does not cover is refused until a ClusterRole
// labelled stageset.dev/aggregate-to-releases grants it.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { StageSet } from "../../capabilities/api";
import cfg from "../../package.json";
import { renderTemplate } from "../../scripts/chart-templates";
import { startArtifactServer, type ArtifactServer } from "../../local-cluster/artifact-server";
import { createTestNamespace, deleteTestNamespace, eventually, serviceAccountKubeconfig } from "../harness/cluster";
import { kubectl } from "../../local-cluster/control-plane";
import { spawnController, type ControllerProcess } from "../harness/controller-process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sa = { name: "pepr-stageset-controller", namespace: "pepr-system" };
const admin = (args: string[], input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), args, input);
let ns: string;
let artifacts: ArtifactServer;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  ns = await createTestNamespace("rbac");
  artifacts = await startArtifactServer();
  await K8s(kind.Namespace).Apply({ metadata: { name: sa.namespace } });
  await K8s(kind.ServiceAccount).Apply({ metadata: sa });
  // The controller's own ClusterRole as Pepr generates it from package.json (plus the rights Pepr adds for its store).
  const own = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "stageset-rbac-test-controller" }, rules: cfg.pepr.rbac };
  const binding = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "stageset-rbac-test-controller" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: own.metadata.name }, subjects: [{ kind: "ServiceAccount", ...sa }] };
  const values = parse(readFileSync(join(root, "deploy/chart/values.yaml"), "utf8"));
  const releaseRBAC = renderTemplate(readFileSync(join(root, "deploy/chart/templates/stageset-release-rbac.yaml"), "utf8"), values);
  admin(["apply", "--server-side", "-f", "-"], [stringify(own), stringify(binding), releaseRBAC].join("\n---\n"));
});

afterAll(async () => {
  await controller?.kill();
  await artifacts?.stop();
  admin(["delete", "--ignore-not-found", "clusterrole,clusterrolebinding", "stageset-rbac-test-controller", "stageset-rbac-test-greetings"]);
  if (ns) await deleteTestNamespace(ns);
});

it("rolls out the demo release as the controller's ServiceAccount, a custom kind once a release role is aggregated", async () => {
  for (const stage of ["crds", "config", "app"]) {
    const dir = join(root, "examples/demo", stage);
    await artifacts.publish({ namespace: ns, name: `demo-${stage}` }, { files: Object.fromEntries(readdirSync(dir).map(f => [f, readFileSync(join(dir, f), "utf8")])) });
  }
  const demo = parse(readFileSync(join(root, "examples/demo/stageset.yaml"), "utf8"));
  await K8s(StageSet).Apply({ ...demo, metadata: { ...demo.metadata, namespace: ns } });
  controller = await spawnController({ KUBECONFIG: serviceAccountKubeconfig(inject("harnessBinDir"), inject("kubeconfig"), sa), STAGESET_NAMESPACES: ns });
  const read = () => K8s(StageSet).InNamespace(ns).Get("demo");

  // The demo's Greeting kind is not among the kinds the release role grants by default.
  const refused = await eventually(read, ss => ss.status?.stages?.find(s => s.name === "config")?.phase === "Failed", { what: "stage config refused", timeoutMs: 60_000 });
  expect(refused.status?.stages?.find(s => s.name === "crds")?.phase).toBe("Ready");
  expect(refused.status?.conditions?.find(c => c.type === "Ready")?.message).toMatch(/Greeting\/hello.*forbidden|forbidden.*greetings/i);

  const greetings = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "stageset-rbac-test-greetings", labels: { "stageset.dev/aggregate-to-releases": "true" } }, rules: [{ apiGroups: ["demo.stageset.dev"], resources: ["greetings"], verbs: ["get", "list", "watch", "create", "patch", "update", "delete"] }] };
  admin(["apply", "--server-side", "-f", "-"], stringify(greetings));
  const done = await eventually(read, ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") === true, { what: "demo Ready as the ServiceAccount", timeoutMs: 90_000 });
  expect(done.status?.stages?.map(s => [s.name, s.phase])).toEqual([["crds", "Ready"], ["config", "Ready"], ["app", "Ready"]]);
});

it("as its own ServiceAccount, acts for a StageSet as the StageSet's ServiceAccount: its impersonate right suffices, and the tenant's RBAC decides", async () => {
  const tenant = await createTestNamespace("rbac-tenant");
  try {
    await K8s(kind.ServiceAccount).Apply({ metadata: { name: "deployer", namespace: tenant } });
    await K8s(kind.RoleBinding).Apply({ metadata: { name: "deployer-edit", namespace: tenant }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" }, subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: tenant }] });
    const cm = (name: string, namespace?: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: ${JSON.stringify({ name, ...(namespace ? { namespace } : {}) })}\ndata: { k: v }\n`;
    await artifacts.publish({ namespace: tenant, name: "own" }, { files: { "own.yaml": cm("tenant-own") } });
    // The controller itself may write ConfigMaps in any namespace (the release role); the tenant's ServiceAccount may not.
    await artifacts.publish({ namespace: tenant, name: "elsewhere" }, { files: { "x.yaml": cm("tenant-intruder", ns) } });
    await K8s(StageSet).Apply({ metadata: { name: "own", namespace: tenant }, spec: { serviceAccountName: "deployer", stages: [{ name: "s", sourceRef: { name: "own" } }] } });
    await K8s(StageSet).Apply({ metadata: { name: "elsewhere", namespace: tenant }, spec: { serviceAccountName: "deployer", stages: [{ name: "s", sourceRef: { name: "elsewhere" } }] } });
    await controller?.kill();
    controller = await spawnController({ KUBECONFIG: serviceAccountKubeconfig(inject("harnessBinDir"), inject("kubeconfig"), sa), STAGESET_NAMESPACES: tenant });
    const read = (name: string) => K8s(StageSet).InNamespace(tenant).Get(name);
    await eventually(() => read("own"), ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.status === "True") === true, { what: "Ready as the tenant's ServiceAccount", timeoutMs: 60_000 });
    const refused = await eventually(() => read("elsewhere"), ss => ss.status?.conditions?.some(c => c.type === "Ready" && c.reason === "Forbidden") === true, { what: "Forbidden for the tenant's ServiceAccount", timeoutMs: 60_000 });
    expect(refused.status?.conditions?.find(c => c.type === "Ready")?.message).toContain(`serviceaccount ${tenant}/deployer cannot create configmaps in namespace ${ns}`);
    await expect(K8s(kind.ConfigMap).InNamespace(ns).Get("tenant-intruder")).rejects.toMatchObject({ status: 404 });
  } finally {
    await deleteTestNamespace(tenant);
  }
});
