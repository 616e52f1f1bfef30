import { describe, expect, it } from "vitest";
import { hasChanges, hasErrors, objectDiff, renderDiff, type ObjectDiff, type StageDiff } from "./index";

const cm = (data: Record<string, string>) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "shop" }, data });
const update: ObjectDiff = { id: "apps/Deployment/shop/web", change: "update", diff: objectDiff({ spec: { replicas: 2 } }, { spec: { replicas: 3 } }) };
const create: ObjectDiff = { id: "/ConfigMap/shop/x", change: "create", diff: objectDiff(undefined, cm({ a: "1" })) };
const remove: ObjectDiff = { id: "/Secret/shop/old", change: "delete", diff: objectDiff({ apiVersion: "v1", kind: "Secret", metadata: { name: "old" }, data: { k: "YQ==" } }, undefined) };
const unchanged: ObjectDiff = { id: "rbac.authorization.k8s.io/ClusterRole//reader", change: "unchanged", diff: "" };
const stage = (objects: ObjectDiff[], extra: Partial<StageDiff> = {}): StageDiff => ({ stage: "app", revision: "v2", appliedRevision: "v1", objects, ...extra });

describe("hasChanges and hasErrors", () => {
  it.each([
    { name: "nothing to diff", diffs: [], changes: false, errors: false },
    { name: "only unchanged objects", diffs: [stage([unchanged])], changes: false, errors: false },
    { name: "an update", diffs: [stage([unchanged]), stage([update])], changes: true, errors: false },
    { name: "a delete", diffs: [stage([remove])], changes: true, errors: false },
    { name: "a stage that could not be diffed", diffs: [stage([], { error: "stage app: ExternalArtifact shop/app not found" })], changes: false, errors: true },
  ])("$name", ({ diffs, changes, errors }) => {
    expect(hasChanges(diffs)).toBe(changes);
    expect(hasErrors(diffs)).toBe(errors);
  });
});

describe("renderDiff", () => {
  it.each([
    { name: "no changes", diffs: [stage([unchanged], { revision: "v1" })], lines: ["stage app: v1 → v1", "  no changes", "no changes"] },
    { name: "a stage never applied", diffs: [stage([], { appliedRevision: undefined })], lines: ["stage app: - → v2", "  no changes", "no changes"] },
    {
      name: "objects marked by their change, Kind/namespace/name, cluster-scoped without a namespace",
      diffs: [stage([update, create, remove, { ...unchanged, change: "update", diff: "--- live\n+++ merged\n@@ -1 +1 @@\n-a\n+b\n" }])],
      marks: ["~ Deployment/shop/web", "+ ConfigMap/shop/x", "- Secret/shop/old", "~ ClusterRole/reader"],
      last: "4 objects would change",
    },
    {
      name: "a failed stage beside a changed one",
      diffs: [stage([], { stage: "crds", error: "stage crds: artifact v2: digest mismatch" }), stage([create])],
      lines: ["stage crds: v1 → v2", "  error: stage crds: artifact v2: digest mismatch"],
      last: "1 object would change; 1 stage could not be diffed",
    },
    { name: "a stage removed from the spec", diffs: [stage([remove], { stage: "old", revision: "", removed: true })], lines: ["stage old: v1 → (removed from the spec)", "- Secret/shop/old"] },
  ])("$name", ({ diffs, lines = [], marks = [], last }) => {
    const out = renderDiff(diffs, { color: false }).split("\n");
    for (const line of [...lines, ...marks]) expect(out).toContain(line);
    if (last) expect(out.at(-1)).toBe(last);
    expect(out.join("\n")).not.toContain("\u001b");
  });

  it("shows each changed object's unified diff, with no Secret value", () => {
    const out = renderDiff([stage([update, remove])], { color: false });
    expect(out).toContain("~ Deployment/shop/web\n--- live\n+++ merged\n@@ -1,2 +1,2 @@\n spec:\n-  replicas: 2\n+  replicas: 3\n");
    expect(out).toContain('-  k: "***"');
    expect(out).not.toContain("YQ==");
  });

  it("colours added lines green, removed red, headers bold, only when asked", () => {
    const out = renderDiff([stage([update])], { color: true }).split("\n");
    expect(out).toContain("\u001b[1mstage app: v1 → v2\u001b[0m");
    expect(out).toContain("\u001b[32m+  replicas: 3\u001b[0m");
    expect(out).toContain("\u001b[31m-  replicas: 2\u001b[0m");
    expect(out).toContain("\u001b[1m--- live\u001b[0m");
  });
});
