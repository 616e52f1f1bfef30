import { describe, expect, it } from "vitest";
import { approvalFor, parseApprovals, parseApproveRequest, withApproval } from "./approvals";
import { findCycle } from "./dependencies";

describe("findCycle", () => {
  const graph: Record<string, string[]> = { "ns/a": ["ns/b"], "ns/b": ["ns/c"], "ns/c": [], "ns/d": ["ns/d"], "x/e": ["ns/a", "x/f"], "x/f": ["x/e"] };
  const deps = (k: string) => graph[k] ?? [];
  it.each([
    ["a chain without a cycle", "ns/a", ["ns/b"], undefined],
    ["a new StageSet depending on a chain", "ns/new", ["ns/a", "x/e"], undefined],
    ["c depending on a closes a → b → c", "ns/c", ["ns/a"], ["ns/c", "ns/a", "ns/b", "ns/c"]],
    ["depending on itself", "ns/d", ["ns/d"], ["ns/d", "ns/d"]],
    ["a two-step cycle across namespaces", "x/f", ["x/e"], ["x/f", "x/e", "x/f"]],
  ])("%s", (_, start, edges, cycle) => {
    expect(findCycle(start, edges, deps)).toEqual(cycle);
  });
  it("names every StageSet of a longer cycle in order", () => {
    const g: Record<string, string[]> = { "n/a": ["n/b"], "n/b": ["n/c"], "n/c": ["n/zz", "n/d"], "n/d": [] };
    expect(findCycle("n/d", ["n/a"], k => (k === "n/d" ? ["n/a"] : (g[k] ?? [])))).toEqual(["n/d", "n/a", "n/b", "n/c", "n/d"]);
  });
  it("walks a long chain without recursion", () => {
    const n = 100_000;
    expect(findCycle("k/0", ["k/1"], k => { const i = Number(k.slice(2)); return i < n ? [`k/${i + 1}`] : ["k/0"]; })).toHaveLength(n + 2);
  });
});

describe("approvals", () => {
  it.each([
    ["app@v1", { stage: "app", revision: "v1" }],
    ["app@v1.2.0@sha256:abc", { stage: "app", revision: "v1.2.0@sha256:abc" }],
  ])("parses %s", (value, want) => expect(parseApproveRequest(value)).toEqual(want));
  it.each(["app", "@v1", "app@", ""])("refuses %j naming the form", value => expect(parseApproveRequest(value)).toMatch(/is not <stage>@<revision>/));

  const rec = (stage: string, revision: string) => ({ stage, revision, approvedBy: "alice", approvedAt: "2026-12-02T10:00:00Z" });
  it("keeps the latest approval per stage", () => {
    expect(withApproval([rec("a", "v1"), rec("b", "v1")], rec("a", "v2"))).toEqual([rec("b", "v1"), rec("a", "v2")]);
  });
  it.each([
    ["not JSON", "{", []],
    ["not a list", '{"stage":"a"}', []],
    ["an entry missing a field", JSON.stringify([{ stage: "a", revision: "v1", approvedBy: "x" }, rec("b", "v2")]), [rec("b", "v2")]],
    ["extra fields dropped", JSON.stringify([{ ...rec("a", "v1"), extra: 1 }]), [rec("a", "v1")]],
  ])("reads the record: %s", (_, annotation, want) => expect(parseApprovals(annotation)).toEqual(want));
  it("matches only the exact revision and digest", () => {
    const approved = { ...rec("a", "v1"), digest: "sha256:1" };
    expect(approvalFor([approved], "a", "v1", "sha256:1")).toEqual(approved);
    expect(approvalFor([approved], "a", "v1", "sha256:republished")).toBeUndefined();
    expect(approvalFor([approved], "a", "v2", "sha256:1")).toBeUndefined();
    expect(approvalFor([approved], "b", "v1", "sha256:1")).toBeUndefined();
    expect(approvalFor([rec("a", "v1")], "a", "v1", "sha256:1")).toBeUndefined(); // given while the stage tried another revision
  });
});
