// `npm run build` must finish (module top level is inert: no servers or timers outside the
// watcher and dev mode), produce the module (watcher and admission), and carry what Pepr does not generate
// (the StageSet CRD, the gate and metrics Services, the NetworkPolicy) in both the YAML and
// the Helm chart. Both apply cleanly to a real API server (server-side dry run). Helm renders
// the chart, and with the lockdown values (chart and YAML) the controller's own ServiceAccount
// cannot write release objects, as `kubectl auth can-i` shows on the real authorizer.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { parse, parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { renderTemplate } from "../../scripts/chart-templates";
import { watcherNodeOptions } from "../../scripts/watcher-env";
import { createTestNamespace, deleteTestNamespace } from "../harness/cluster";
import { kubectl } from "../../local-cluster/control-plane";
import { scriptOutput } from "../../local-cluster/tools";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const manifest = join(root, "dist/pepr-module-stageset-controller.yaml");
const chart = join(root, "dist/stageset-controller-chart");

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { ports?: { port: number; targetPort: number }[]; selector?: Record<string, string> };
}
const names = (objs: Obj[]) => objs.map(o => `${o.kind}/${o.metadata.name}`);
const admin = (args: string[], input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), args, input);
const dryRun = (file: string, input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["apply", "--server-side", "--dry-run=server", "-f", file], input);

describe("npm run build", () => {
  beforeAll(async () => {
    const started = Date.now();
    // Not spawnSync: a worker blocked for minutes misses the test runner's calls and fails the run.
    const run = await new Promise<{ status: number | null; signal: NodeJS.Signals | null; out: string }>(done => {
      const child = spawn("npm", ["run", "--silent", "build"], { cwd: root, timeout: 240_000 });
      let out = "";
      child.stdout.on("data", d => (out += String(d)));
      child.stderr.on("data", d => (out += String(d)));
      child.on("close", (status, signal) => done({ status, signal, out }));
    });
    expect(run.signal, `build did not finish within 240 s:\n${run.out}`).toBeNull();
    expect(run.status, run.out).toBe(0);
    console.log(`npm run build took ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }, 300_000);

  it("writes the module (watcher, admission webhooks) with the CRD, the gate and metrics Services and the NetworkPolicy", () => {
    const objects = parseAllDocuments(readFileSync(manifest, "utf8")).map(d => d.toJS() as Obj);
    expect(names(objects)).toEqual(expect.arrayContaining(["CustomResourceDefinition/stagesets.stageset.dev", "Deployment/pepr-stageset-controller-watcher", "Service/stageset-controller-gate", "Service/stageset-controller-metrics", "NetworkPolicy/stageset-controller"]));
    // Admission: StageSets are defaulted and validated at apply time, nothing else is intercepted.
    const webhooks = objects.filter(o => o.kind.endsWith("WebhookConfiguration")) as unknown as { kind: string; webhooks: { rules: { apiGroups: string[]; resources: string[] }[] }[] }[];
    expect(webhooks.map(w => w.kind).sort()).toEqual(["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]);
    for (const w of webhooks) expect(w.webhooks.flatMap(h => h.rules.map(r => `${r.apiGroups.join()}/${r.resources.join()}`))).toEqual(["stageset.dev/stagesets"]);
    const gate = objects.find(o => o.metadata.name === "stageset-controller-gate")!;
    expect(gate.metadata.namespace).toBe("pepr-system");
    expect(gate.spec?.ports).toEqual([expect.objectContaining({ port: 8082, targetPort: 8082 })]);
    // Explicit RBAC: the controller's own rules, and the aggregated role for release objects.
    const role = objects.find(o => o.kind === "ClusterRole" && o.metadata.name === "pepr-stageset-controller") as unknown as { rules: { resources: string[]; verbs: string[] }[] };
    expect(role.rules).toEqual(expect.arrayContaining([expect.objectContaining({ resources: ["stagesets/status"], verbs: ["get", "patch", "update"] })]));
    expect(names(objects)).toEqual(expect.arrayContaining(["ClusterRole/stageset-controller-releases", "ClusterRoleBinding/stageset-controller-releases", "ClusterRole/stageset-controller-releases-common"]));
    // The Service must select the watcher pod Pepr generates.
    const watcher = objects.find(o => o.metadata.name === "pepr-stageset-controller-watcher" && o.kind === "Deployment") as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } };
    expect(watcher.spec.template.metadata.labels).toMatchObject(gate.spec!.selector!);
  });

  it("puts the same in the Helm chart, behind values that default on", () => {
    expect(readdirSync(join(chart, "crds"))).toContain("stageset.dev_stagesets.yaml");
    expect(readdirSync(join(chart, "templates"))).toEqual(expect.arrayContaining(["stageset-gate-service.yaml", "stageset-metrics-service.yaml", "stageset-network-policy.yaml", "stageset-release-rbac.yaml", "cluster-role.yaml"]));
    const values = parse(readFileSync(join(chart, "values.yaml"), "utf8"));
    expect(values).toMatchObject({ gate: { enabled: true, port: 8082 }, metrics: { enabled: true, port: 8080 }, networkPolicy: { enabled: true }, releaseRBAC: { enabled: true } });
    expect(values.rbac).toEqual(expect.arrayContaining([expect.objectContaining({ resources: ["stagesets/status"] })]));
    expect(values.watcher).toBeDefined(); // Pepr's own values are kept
    const off = { ...values, gate: { ...values.gate, enabled: false } };
    expect(renderTemplate(readFileSync(join(chart, "templates/stageset-gate-service.yaml"), "utf8"), off).trim()).toBe("");
  });

  it("applies cleanly to a real API server (server-side dry run), the YAML and the chart's templates", async () => {
    await K8s(kind.Namespace).Apply({ metadata: { name: "pepr-system" } });
    expect(existsSync(manifest)).toBe(true);
    expect(dryRun(manifest)).toMatch(/service\/stageset-controller-gate serverside-applied \(server dry run\)/);
    // What `npx pepr deploy` does not apply, alone: the CRD, the Services, the NetworkPolicy, the release RBAC.
    const extras = join(root, "dist/stageset-extras.yaml");
    expect(names(parseAllDocuments(readFileSync(extras, "utf8")).map(d => d.toJS() as Obj))).toEqual(expect.arrayContaining(["CustomResourceDefinition/stagesets.stageset.dev", "Service/stageset-controller-gate", "NetworkPolicy/stageset-controller", "ClusterRole/stageset-controller-releases"]));
    expect(dryRun(extras)).toMatch(/serverside-applied \(server dry run\)/);
    const values = parse(readFileSync(join(chart, "values.yaml"), "utf8"));
    for (const t of ["stageset-gate-service.yaml", "stageset-metrics-service.yaml", "stageset-network-policy.yaml", "stageset-release-rbac.yaml", "stageset-watcher-pdb.yaml"]) {
      expect(dryRun("-", renderTemplate(readFileSync(join(chart, "templates", t), "utf8"), values, t))).toMatch(/serverside-applied \(server dry run\)/);
    }
  });
});

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  rules?: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[];
  aggregationRule?: { clusterRoleSelectors: { matchLabels: Record<string, string> }[] };
  roleRef?: { name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  spec?: { template: { spec: { containers: { name: string; env?: { name: string; value: string }[] }[] } } };
}

const helm = (args: string[]) => execFileSync(join(scriptOutput("scripts/build-helm.sh"), "helm"), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const render = (...set: string[]) => parseAllDocuments(helm(["template", "stageset", chart, "--namespace", "pepr-system", ...set.flatMap(v => ["--set", v])])).map(d => d.toJS() as RbacObject).filter(Boolean);
const yamlObjects = (file: string) => parseAllDocuments(readFileSync(join(root, "dist", file), "utf8")).map(d => d.toJS() as RbacObject).filter(Boolean);

describe("the watcher, highly available", () => {
  interface Watcher {
    spec: {
      replicas: number;
      strategy: unknown;
      template: { spec: { affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: { topologyKey: string } }[] } }; containers: { name: string; args: string[]; readinessProbe: unknown }[] } };
    };
  }
  const watcherOf = (objs: RbacObject[]) => objs.find(o => o.kind === "Deployment" && o.metadata.name.endsWith("-watcher")) as unknown as Watcher;
  const budgets = (objs: RbacObject[]) => objs.filter(o => o.kind === "PodDisruptionBudget") as unknown as { metadata: { name: string }; spec: { maxUnavailable: number | string; unhealthyPodEvictionPolicy: string; selector: { matchLabels: Record<string, string> } } }[];
  const entry = readFileSync(join(root, "deploy/watcher-entry.cjs"), "utf8");

  it("ships two replicas, rolled one at a time, a disruption budget, anti-affinity, a synced readiness probe and our first process: in the YAML and the chart", () => {
    for (const [source, objs] of [["the YAML", yamlObjects("pepr-module-stageset-controller.yaml")], ["the chart", render()]] as const) {
      const w = watcherOf(objs);
      expect(w.spec.replicas, source).toBe(2);
      expect(w.spec.strategy, source).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      expect(w.spec.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey, source).toBe("kubernetes.io/hostname");
      const c = w.spec.template.spec.containers.find(x => x.name === "watcher")!;
      expect(c.readinessProbe, source).toMatchObject({ httpGet: { path: "/readyz", port: 8080, scheme: "HTTP" } });
      expect(c.args[0], source).toBe("-e");
      expect(c.args[1]!.trim(), source).toBe(entry.trim());
      expect(c.args[2], source).toMatch(/^[a-f0-9]{64}$/);
      expect(budgets(objs).map(b => [b.metadata.name, b.spec.maxUnavailable, b.spec.unhealthyPodEvictionPolicy, b.spec.selector.matchLabels]), source).toEqual([["stageset-controller-watcher", 1, "AlwaysAllow", { app: "pepr-stageset-controller-watcher", "pepr.dev/controller": "watcher" }]]);
    }
    // npx pepr deploy runs one replica: its extras carry no budget that would block a drain.
    expect(budgets(yamlObjects("stageset-extras.yaml"))).toEqual([]);
  });

  it("takes other values in the chart: replicas, a budget in percent or none, Recreate; and refuses a misspelt one", () => {
    const objs = render("watcher.replicas=3", "watcher.podDisruptionBudget.enabled=false");
    expect(watcherOf(objs).spec.replicas).toBe(3);
    expect(budgets(objs)).toEqual([]);
    expect(budgets(render("watcher.podDisruptionBudget.maxUnavailable=50%"))[0]?.spec.maxUnavailable).toBe("50%");
    // As the README says: Recreate takes rollingUpdate=null (Helm merges values, the API server refuses both).
    expect(watcherOf(render("watcher.strategy.type=Recreate", "watcher.strategy.rollingUpdate=null")).spec.strategy).toEqual({ type: "Recreate" });
    expect(() => render("watcher.replica=3")).toThrow(/replica/);
  });
});

describe("lockdown values (tenancy)", () => {
  const lockdownSet = ["tenancy.defaultServiceAccount=deployer", "tenancy.noCrossNamespaceRefs=true"];
  const lockdownYaml = () => parseAllDocuments(readFileSync(join(root, "dist/pepr-module-stageset-controller-lockdown.yaml"), "utf8")).map(d => d.toJS() as RbacObject);
  const watcherEnv = (objs: RbacObject[]) => objs.find(o => o.kind === "Deployment" && o.metadata.name.endsWith("-watcher"))!.spec!.template.spec.containers[0]!.env!.filter(e => e.name.startsWith("STAGESET_"));
  const releaseVerbs = (objs: RbacObject[]) => [...new Set(objs.find(o => o.metadata.name === "stageset-controller-releases-common")!.rules!.flatMap(r => r.verbs))].sort();

  it("helm renders the chart with the default values and with the lockdown values; a misspelt value is refused", () => {
    const defaults = render();
    expect(watcherEnv(defaults)).toEqual([]);
    // The watcher's heap cap, as the tests and benchmarks run the module, in the chart and in both YAML manifests.
    const nodeOptions = (objs: RbacObject[]) => objs.find(o => o.kind === "Deployment" && o.metadata.name.endsWith("-watcher"))!.spec!.template.spec.containers[0]!.env!.find(e => e.name === "NODE_OPTIONS")?.value;
    expect(nodeOptions(defaults)).toBe(watcherNodeOptions);
    expect(nodeOptions(lockdownYaml())).toBe(watcherNodeOptions);
    expect(nodeOptions(parseAllDocuments(readFileSync(manifest, "utf8")).map(d => d.toJS() as RbacObject).filter(Boolean))).toBe(watcherNodeOptions);
    expect(releaseVerbs(defaults)).toEqual(["create", "delete", "get", "list", "patch", "update", "watch"]);
    const locked = render(...lockdownSet);
    expect(watcherEnv(locked)).toEqual([{ name: "STAGESET_DEFAULT_SERVICE_ACCOUNT", value: "deployer" }, { name: "STAGESET_NO_CROSS_NAMESPACE_REFS", value: "true" }]);
    expect(releaseVerbs(locked)).toEqual(["get", "list", "watch"]);
    expect(() => render("tenancy.defaultServiceAcount=deployer")).toThrow(/defaultServiceAcount/);
    // The plain YAML with lockdown values says the same.
    expect(watcherEnv(lockdownYaml())).toEqual([{ name: "STAGESET_DEFAULT_SERVICE_ACCOUNT", value: "stageset-deployer" }, { name: "STAGESET_NO_CROSS_NAMESPACE_REFS", value: "true" }]);
    expect(releaseVerbs(lockdownYaml())).toEqual(["get", "list", "watch"]);
  });

  // The RBAC objects of an install, renamed so that they cannot meet another test's (or each
  // other's) objects in the shared control plane: cluster-scoped names and the aggregation
  // label get a suffix, pepr-system becomes the test's namespace.
  function isolated(objs: RbacObject[], suffix: string, ns: string): RbacObject[] {
    const label = (l: Record<string, string> = {}) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k === "stageset.dev/aggregate-to-releases" ? `${k}-${suffix}` : k, v]));
    return objs
      .filter(o => ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"].includes(o.kind))
      .map(o => ({
        ...o,
        metadata: { ...o.metadata, name: o.kind.startsWith("Cluster") ? `${o.metadata.name}-${suffix}` : o.metadata.name, namespace: o.metadata.namespace ? ns : undefined, labels: label(o.metadata.labels) },
        ...(o.aggregationRule ? { aggregationRule: { clusterRoleSelectors: o.aggregationRule.clusterRoleSelectors.map(sel => ({ matchLabels: label(sel.matchLabels) })) } } : {}),
        ...(o.roleRef ? { roleRef: { ...o.roleRef, name: o.kind === "ClusterRoleBinding" ? `${o.roleRef.name}-${suffix}` : o.roleRef.name } } : {}),
        ...(o.subjects ? { subjects: o.subjects.map(sub => ({ ...sub, namespace: ns })) } : {}),
      }));
  }

  const writes = ["create", "patch", "update", "delete"];
  const forbidden = ["deployments.apps", "daemonsets.apps", "statefulsets.apps", "secrets", "configmaps", "jobs.batch", "roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io", "customresourcedefinitions.apiextensions.k8s.io"];

  it.each([
    { from: "chart", objects: () => render(...lockdownSet) },
    { from: "YAML", objects: lockdownYaml },
  ])("the controller's ServiceAccount from the $from with lockdown values cannot write release objects, RBAC, CRDs or Secrets", async ({ from, objects }) => {
    const suffix = `lockdown-${from.toLowerCase()}`;
    const ns = await createTestNamespace(suffix);
    const tenant = await createTestNamespace("tenant");
    const rbac = isolated(objects(), suffix, ns);
    try {
      admin(["apply", "--server-side", "-f", "-"], rbac.map(o => JSON.stringify(o)).join("\n---\n"));
      const as = `--as=system:serviceaccount:${ns}:pepr-stageset-controller`;
      const can = (verb: string, resource: string) => {
        try {
          return admin(["auth", "can-i", verb, resource, "-n", tenant, as]).trim();
        } catch (err) {
          return String((err as { stdout?: string }).stdout ?? err).trim();
        }
      };
      // What it needs, granted (the aggregated read rules take the aggregation controller a moment).
      for (let i = 0; can("watch", "deployments.apps") !== "yes" && i < 100; i++) await new Promise(ok => setTimeout(ok, 100));
      expect(can("watch", "deployments.apps")).toBe("yes");
      expect(can("impersonate", "serviceaccounts")).toBe("yes");
      expect(can("patch", "stagesets.stageset.dev/status")).toBe("yes");
      const table = admin(["auth", "can-i", "--list", "-n", tenant, as]);
      console.log(`kubectl auth can-i --list (lockdown ${from}), namespace ${tenant}:\n${table}`);
      const denied = forbidden.flatMap(r => writes.map(v => `${v} ${r}: ${can(v, r)}`));
      expect(denied.filter(line => !line.endsWith(": no"))).toEqual([]);
      expect(can("get", "secrets")).toBe("no");
      // The table agrees: no row grants a write verb on any of those resources (or on
      // everything), except Pepr's patch of its own store CRD, by name.
      const rows = table.split("\n").slice(1).filter(Boolean).map(l => l.trim().split(/\s{2,}/));
      const writable = rows.filter(([resource, , , verbs = ""]) => (forbidden.includes(resource!) || resource === "*.*") && writes.some(v => verbs.includes(v) || verbs.includes("*")));
      expect(writable).toEqual([["customresourcedefinitions.apiextensions.k8s.io", "[]", "[peprstores.pepr.dev]", "[patch]"]]);
      expect(can("create", "customresourcedefinitions.apiextensions.k8s.io/peprstores.pepr.dev")).toBe("no");
    } finally {
      for (const o of rbac.filter(r => r.kind.startsWith("Cluster"))) admin(["delete", "--ignore-not-found", o.kind.toLowerCase(), o.metadata.name]);
      await deleteTestNamespace(ns);
      await deleteTestNamespace(tenant);
    }
  });
});
