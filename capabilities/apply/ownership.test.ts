import { describe, expect, it } from "vitest";
import { foreignClaims } from "./ownership";
import type { KubeObject } from "./objects";

const owner = { stageSet: "shop", namespace: "team-a", stage: "app" };
const cm = (name: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "team-a" } });
const labels = (stageSet: string, namespace: string, stage: string) => ({ labels: { "stageset.dev/name": stageSet, "stageset.dev/namespace": namespace, "stageset.dev/stage": stage } });

describe("foreignClaims", () => {
  it.each([
    { name: "not in the cluster yet", live: {}, claimed: [] },
    { name: "in the cluster without our labels (adopted, as server-side apply does)", live: { name: "x" }, claimed: [] },
    { name: "ours, this stage", live: { name: "x", ...labels("shop", "team-a", "app") }, claimed: [] },
    { name: "ours, another stage (a move between stages)", live: { name: "x", ...labels("shop", "team-a", "config") }, claimed: [] },
    { name: "another StageSet's", live: { name: "x", ...labels("other", "team-a", "db") }, claimed: ["team-a/other (stage db)"] },
    { name: "a StageSet of the same name in another namespace", live: { name: "x", ...labels("shop", "team-b", "app") }, claimed: ["team-b/shop (stage app)"] },
  ])("$name", ({ live, claimed }) => {
    const liveMap = new Map("name" in live ? [["x", live as KubeObject["metadata"]]] : []);
    expect(foreignClaims([cm("x")], liveMap, owner).map(c => `${c.stageSet} (stage ${c.stage})`)).toEqual(claimed);
  });

  it.each([
    { name: "takes from a StageSet of the same namespace", live: labels("other", "team-a", "db"), claimed: [] },
    { name: "never from another namespace's StageSet (another tenant)", live: labels("other", "team-b", "db"), claimed: ["team-b/other (stage db)"] },
  ])("with takeOwnership: $name", ({ live, claimed }) => {
    const liveMap = new Map([["x", { name: "x", ...live } as KubeObject["metadata"]]]);
    expect(foreignClaims([cm("x")], liveMap, owner, true).map(c => `${c.stageSet} (stage ${c.stage})`)).toEqual(claimed);
  });
});
