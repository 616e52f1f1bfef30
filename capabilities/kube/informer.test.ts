import { describe, expect, it } from "vitest";
import { listItemType } from "./informer";

describe("listItemType: what a list's items are, since the API server omits it on each item", () => {
  it.each([
    { name: "core", list: { apiVersion: "v1", kind: "ConfigMapList" }, want: { apiVersion: "v1", kind: "ConfigMap" } },
    { name: "grouped", list: { apiVersion: "apps/v1", kind: "DeploymentList" }, want: { apiVersion: "apps/v1", kind: "Deployment" } },
    { name: "custom", list: { apiVersion: "argoproj.io/v1alpha1", kind: "RolloutList" }, want: { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout" } },
    { name: "not a list kind", list: { apiVersion: "v1", kind: "Status" }, want: {} },
    { name: "no apiVersion", list: { kind: "ConfigMapList" }, want: {} },
    { name: "nothing", list: {}, want: {} },
  ])("$name", ({ list, want }) => {
    expect(listItemType(list)).toEqual(want);
  });
});
