// Every StageSet YAML a user may copy — the README's, the README's actions example, and
// examples/ — is accepted by the real API server against the CRD's schema (server-side dry
// run). examples/demo is also rolled out for real by the newcomer and RBAC tests.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { validateActions } from "../../capabilities/actions";
import type { Stage } from "../../capabilities/api";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createTestNamespace } from "../harness/cluster";
import { kubectl } from "../../local-cluster/control-plane";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const walk = (dir: string): string[] => readdirSync(dir).flatMap(f => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
const exampleFiles = walk(join(root, "examples")).filter(f => f.endsWith(".yaml"));
/** The README's yaml blocks that hold a StageSet, or a StageSet's stage list item. */
const readmeBlocks = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```yaml\n([\s\S]*?)\n```/g)].map(m => m[1]!);

let ns: string;
beforeAll(async () => {
  ns = await createTestNamespace("examples");
});
const dryRun = (yaml: string) => kubectl(inject("harnessBinDir"), inject("kubeconfig"), ["apply", "--server-side", "--dry-run=server", "-n", ns, "-f", "-"], yaml);

describe("examples", () => {
  it.each(exampleFiles.map(f => [relative(root, f), f]))("%s is valid for the API server", (_name, file) => {
    const docs = parseAllDocuments(readFileSync(file, "utf8")).map(d => d.toJS() as { kind?: string; metadata?: { namespace?: string } });
    // A custom resource of the demo's own CRD can only be checked once that CRD exists.
    const checkable = docs.filter(d => d.kind && d.kind !== "Greeting").map(d => ({ ...d, metadata: { ...d.metadata, namespace: undefined } }));
    for (const doc of checkable) expect(dryRun(JSON.stringify(doc))).toMatch(/serverside-applied \(server dry run\)/);
  });

  it("the README's StageSets are valid for the API server", () => {
    const stageSets = readmeBlocks.filter(b => /^kind: StageSet$/m.test(b));
    expect(stageSets.length).toBeGreaterThan(0);
    for (const b of stageSets) expect(dryRun(b.replace(/namespace: \w+/, `namespace: ${ns}`))).toMatch(/stageset.stageset.dev\/\S+ serverside-applied/);
    // The actions example is a stage list item: wrap it in a StageSet.
    const stage = readmeBlocks.find(b => b.includes("actions:"))!;
    const wrapped = `apiVersion: stageset.dev/v1alpha1\nkind: StageSet\nmetadata: { name: actions-example }\nspec:\n  stages:\n${stage}`;
    expect(dryRun(wrapped)).toMatch(/serverside-applied/);
    // ... and valid for the controller, which checks actions beyond the schema.
    const [first] = (parse(wrapped) as { spec: { stages: Stage[] } }).spec.stages;
    expect(validateActions(first!.name, first!.actions, "spec.stages[0].actions")).toEqual([]);
  });
});
