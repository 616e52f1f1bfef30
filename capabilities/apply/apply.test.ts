import { describe, expect, it } from "vitest";
import type { Discovery } from "../kube";
import { applySetId, placeObjects, applyWaves, duplicateClaims, OwnerLabel, prunePlan, stageParent, type KubeObject } from "./index";

const obj = (apiVersion: string, kind: string, name: string, namespace?: string, extra: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}), ...extra },
});
const owned = (stage: string, extra: Partial<KubeObject["metadata"]> = {}) => ({
  labels: { [OwnerLabel.stageSet]: "release", [OwnerLabel.namespace]: "shop", [OwnerLabel.stage]: stage },
  ...extra,
});

describe("applySetId", () => {
  // Vectors from kubectl's own tests (contracts.md §6.1).
  it.each([
    { name: "namespaced Secret parent", parent: { name: "my-set", namespace: "test", kind: "Secret", group: "" }, id: "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1" },
    { name: "cluster-scoped custom parent", parent: { name: "my-set", namespace: "", kind: "ApplySet", group: "company.com" }, id: "applyset-rhp1a-HVAVT_dFgyEygyA1BEB82HPp2o10UiFTpqtAs-v1" },
  ])("$name", ({ parent, id }) => {
    expect(applySetId(parent)).toBe(id);
  });

  it("gives each stage its own id, short enough for a label value", () => {
    const a = applySetId(stageParent({ name: "release", namespace: "shop" }, "crds"));
    const b = applySetId(stageParent({ name: "release", namespace: "shop" }, "app"));
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^applyset-[A-Za-z0-9_-]{43}-v1$/);
  });
});

describe("applyWaves", () => {
  it("puts definitions first, classes next, webhooks last, sorted within a wave", () => {
    const waves = applyWaves([
      obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "hook"),
      obj("apps/v1", "Deployment", "web", "shop"),
      obj("v1", "ConfigMap", "a", "shop"),
      obj("storage.k8s.io/v1", "StorageClass", "fast"),
      obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
      obj("v1", "Namespace", "shop"),
    ]);
    expect(waves.map(w => [w.wave, w.objects.map(o => `${o.kind}/${o.metadata.name}`)])).toEqual([
      ["definitions", ["CustomResourceDefinition/widgets.example.com", "Namespace/shop"]],
      ["classes", ["StorageClass/fast"]],
      ["objects", ["ConfigMap/a", "Deployment/web"]],
      ["webhooks", ["ValidatingWebhookConfiguration/hook"]],
    ]);
  });
});

describe("prunePlan", () => {
  const owner = { stageSet: "release", namespace: "shop", stage: "app" };
  it.each([
    { name: "still desired", found: obj("v1", "ConfigMap", "keep", "shop", owned("app")), deleted: false, why: undefined },
    { name: "left the stage", found: obj("v1", "ConfigMap", "old", "shop", owned("app")), deleted: true, why: undefined },
    { name: "opted out by annotation", found: obj("v1", "ConfigMap", "old", "shop", owned("app", { annotations: { "stageset.dev/prune": "disabled" } })), deleted: false, why: "annotated stageset.dev/prune: disabled" },
    { name: "moved to another stage", found: obj("v1", "ConfigMap", "old", "shop", owned("config")), deleted: false, why: "no longer labelled as this stage's" },
    { name: "ownership labels removed by hand", found: obj("v1", "ConfigMap", "old", "shop", { labels: {} }), deleted: false, why: "no longer labelled as this stage's" },
    { name: "already being deleted", found: obj("v1", "ConfigMap", "old", "shop", owned("app", { deletionTimestamp: "2026-01-01T00:00:00Z" })), deleted: false, why: undefined },
  ])("$name", ({ found, deleted, why }) => {
    const plan = prunePlan([found], new Set(["/ConfigMap/shop/keep"]), owner);
    expect(plan.delete.length).toBe(deleted ? 1 : 0);
    expect(plan.keep[0]?.why).toBe(why);
  });
});

describe("duplicateClaims", () => {
  it("names the object and both stages", () => {
    const cm = obj("v1", "ConfigMap", "shared", "shop");
    expect(duplicateClaims([{ stage: "a", objects: [cm] }, { stage: "b", objects: [cm, obj("v1", "ConfigMap", "other", "shop")] }])).toEqual([
      { id: "/ConfigMap/shop/shared", stages: ["a", "b"] },
    ]);
  });

  it("treats the same kind in two API versions as one object", () => {
    const claims = duplicateClaims([
      { stage: "a", objects: [obj("autoscaling/v1", "HorizontalPodAutoscaler", "web", "shop")] },
      { stage: "b", objects: [obj("autoscaling/v2", "HorizontalPodAutoscaler", "web", "shop")] },
    ]);
    expect(claims).toHaveLength(1);
  });
});

const scopes: Record<string, { namespaced: boolean } | undefined> = {
  "v1/ConfigMap": { namespaced: true },
  "v1/Namespace": { namespaced: false },
  "apiextensions.k8s.io/v1/CustomResourceDefinition": { namespaced: false },
};

describe("placeObjects", () => {
  // Only the scope answer matters here; the real Discovery is exercised against the API server.
  const discovery = {
    resolve: async (apiVersion: string, kind: string) => scopes[`${apiVersion}/${kind}`],
  } as unknown as Discovery;

  it.each([
    { name: "namespaced kind gets the default namespace", o: obj("v1", "ConfigMap", "a"), ns: "shop" },
    { name: "an explicit namespace is kept", o: obj("v1", "ConfigMap", "a", "other"), ns: "other" },
    { name: "cluster-scoped kind has none, even if written", o: obj("v1", "Namespace", "x", "shop"), ns: undefined },
    { name: "a CRD is cluster-scoped", o: obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"), ns: undefined },
    { name: "kind defined by a namespaced CRD in the same set", o: obj("example.com/v1", "Widget", "w"), ns: "shop" },
    { name: "kind defined by a cluster-scoped CRD in the same set", o: obj("example.com/v1", "Gadget", "g", "shop"), ns: undefined },
  ])("$name", async ({ o, ns }) => {
    const crds: KubeObject[] = [
      { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "widgets.example.com" }, spec: { group: "example.com", scope: "Namespaced", names: { kind: "Widget" } } },
      { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "gadgets.example.com" }, spec: { group: "example.com", scope: "Cluster", names: { kind: "Gadget" } } },
    ];
    const placed = await placeObjects(discovery, [...crds, o], "shop");
    expect(placed.at(-1)!.metadata.namespace).toBe(ns);
  });
});
