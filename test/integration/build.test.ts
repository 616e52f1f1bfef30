// `npm run build` must finish (module top level is inert: no servers or timers outside the
// watcher and dev mode), produce the module (watcher and admission), and carry what Pepr does not generate
// (the StageSet CRD, the gate and metrics Services, the NetworkPolicy) in both the YAML and
// the Helm chart. Both apply cleanly to a real API server (server-side dry run).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K8s, kind } from "pepr";
import { parse, parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { renderTemplate } from "../../scripts/chart-templates";
import { kubectl } from "../harness/control-plane";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const manifest = join(root, "dist/pepr-module-stageset-controller.yaml");
const chart = join(root, "dist/stageset-controller-chart");

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { ports?: { port: number; targetPort: number }[]; selector?: Record<string, string> };
}
const names = (objs: Obj[]) => objs.map(o => `${o.kind}/${o.metadata.name}`);
const dryRun = (file: string, input?: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["apply", "--server-side", "--dry-run=server", "-f", file], input);

describe("npm run build", () => {
  beforeAll(() => {
    const started = Date.now();
    const run = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, encoding: "utf8", timeout: 240_000 });
    expect(run.signal, `build did not finish within 240 s:\n${run.stdout}\n${run.stderr}`).toBeNull();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
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
    for (const t of ["stageset-gate-service.yaml", "stageset-metrics-service.yaml", "stageset-network-policy.yaml", "stageset-release-rbac.yaml"]) {
      expect(dryRun("-", renderTemplate(readFileSync(join(chart, "templates", t), "utf8"), values, t))).toMatch(/serverside-applied \(server dry run\)/);
    }
  });
});
