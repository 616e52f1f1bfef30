// The CLI's pure parts: argument parsing, tables, ages and revisions, the get table and the plan.
import { describe, expect, it } from "vitest";
import type { StageSet } from "../capabilities/api";
import { parseArgs } from "./args";
import { getOutput, summarize } from "./get";
import { age, shortRevision, table } from "./output";
import { renderPlan } from "./plan";

describe("parseArgs", () => {
  it.each([
    [["get", "-A"], { command: "get", args: [], flags: { "all-namespaces": true } }],
    [["get", "web", "-n", "shop", "-o", "json"], { command: "get", args: ["web"], flags: { namespace: "shop", output: "json" } }],
    [["reconcile", "web", "--wait", "--timeout=2m"], { command: "reconcile", args: ["web"], flags: { wait: true, timeout: "2m" } }],
    [["approve", "web", "db", "--revision", "v1@sha256:0"], { command: "approve", args: ["web", "db"], flags: { revision: "v1@sha256:0" } }],
    [[], { command: "help", args: [], flags: {} }],
  ])("%j", (argv, want) => expect(parseArgs(argv)).toEqual(want));
  it.each([
    [["get", "--nope"], "unknown flag --nope"],
    [["get", "-n"], "flag -n needs a value"],
    [["get", "-n", "-A"], "flag -n needs a value"],
    [["get", "--wait=yes"], "flag --wait takes no value"],
    [["get", "-namespace", "x"], "unknown flag -namespace (long flags take two dashes)"],
  ])("refuses %j", (argv, message) => expect(() => parseArgs(argv)).toThrow(message));
});

describe("output", () => {
  it("aligns columns by their visible width, colour codes aside", () => {
    expect(table(["A", "BB"], [["\u001b[32mxyz\u001b[0m", "1"], ["q", "22"]], { color: false }).split("\n")).toEqual(["A     BB", "\u001b[32mxyz\u001b[0m   1", "q     22"]);
  });
  it.each([
    [5_000, "5s"],
    [119_000, "119s"],
    [3_600_000, "60m"],
    [7_200_000, "2h"],
    [3 * 86_400_000, "3d"],
  ])("age of %d ms is %s", (ms, want) => expect(age(new Date(1_000_000_000_000).toISOString(), 1_000_000_000_000 + ms)).toBe(want));
  it("cuts a digest to 12 hex digits", () => expect(shortRevision("v1.2.0@sha256:0123456789abcdef0123")).toBe("v1.2.0@sha256:0123456789ab"));
});

const ss = {
  metadata: { name: "web", namespace: "shop", generation: 3 },
  spec: {
    stages: [
      { name: "db", sourceRef: { name: "web-db" }, actions: { pre: [{ name: "migrate", job: {} }], post: [{ name: "smoke", http: {} }] }, promotion: { soak: "10m", approval: "Required" } },
      { name: "app", sourceRef: { name: "web-app" }, path: "./deploy" },
    ],
    freeze: { reason: "release week" },
    dependsOn: [{ name: "platform" }],
  },
  status: {
    conditions: [{ type: "Ready", status: "False", reason: "Frozen", message: "frozen", lastTransitionTime: "2026-12-02T10:00:00Z" }],
    stages: [
      { name: "db", phase: "Ready", attemptedRevision: "v1@sha256:aaaaaaaaaaaaaaaa", appliedRevision: "v1@sha256:aaaaaaaaaaaaaaaa", appliedDigest: "sha256:aaaaaaaaaaaaaaaa", lastTransitionTime: "2026-12-02T10:00:00Z" },
      { name: "app", phase: "Ready", attemptedRevision: "v1@sha256:bbbbbbbbbbbbbbbb", appliedRevision: "v1@sha256:bbbbbbbbbbbbbbbb", appliedDigest: "sha256:bbbbbbbbbbbbbbbb", lastTransitionTime: "2026-12-02T10:01:00Z" },
    ],
  },
} as unknown as StageSet;
const now = Date.parse("2026-12-02T10:05:00Z");

describe("get", () => {
  it("one row per stage, the StageSet's columns on its first", () => {
    expect(getOutput([ss], { allNamespaces: true, now, style: { color: false } })).toBe(
      [
        "NAMESPACE   NAME   READY   REASON   STAGE   PHASE   REVISION                 AGE",
        "shop        web    False   Frozen   db      Ready   v1@sha256:aaaaaaaaaaaa   5m",
        "                                    app     Ready   v1@sha256:bbbbbbbbbbbb   4m",
      ].join("\n"),
    );
  });
  it("machine output is the summary, stable", () => {
    expect(JSON.parse(getOutput([ss], { output: "json", allNamespaces: false, now, style: { color: false } }))).toEqual([summarize(ss)]);
    expect(summarize(ss).stages[1]).toEqual({ name: "app", phase: "Ready", revision: "v1@sha256:bbbbbbbbbbbbbbbb", appliedRevision: "v1@sha256:bbbbbbbbbbbbbbbb", since: "2026-12-02T10:01:00Z" });
  });
});

describe("plan", () => {
  it("lists what holds the run, then each stage's steps in order", () => {
    const out = renderPlan(ss, { published: { db: { revision: "v2@sha256:cccccccccccccccc", digest: "sha256:cccccccccccccccc" }, app: { revision: "v1@sha256:bbbbbbbbbbbbbbbb", digest: "sha256:bbbbbbbbbbbbbbbb" } }, dependencies: { "shop/platform": "True" }, now }, { color: false });
    expect(out.split("\n")).toEqual([
      "Plan for StageSet shop/web (generation 3):",
      "held     frozen: release week; opens when spec.freeze is removed",
      "waits    for StageSet shop/platform to be Ready (its Ready condition now: True)",
      "1. stage db   v1@sha256:aaaaaaaaaaaa → v2@sha256:cccccccccccc",
      "   pre      migrate (job)",
      "   apply    ExternalArtifact web-db, path ./",
      "   wait     until Ready (timeout 15m)",
      "   post     smoke (http)",
      "   soak     10m Ready before the next stage",
      "   approve  the next stage waits for an approval of this revision",
      "2. stage app   v1@sha256:bbbbbbbbbbbb (unchanged: applied again and verified)",
      "   apply    ExternalArtifact web-app, path ./deploy",
      "   wait     until Ready (timeout 15m)",
      "then     prune what left each stage, last stage first; tear down stages no longer in the spec; Ready",
    ]);
  });
});

describe("diff masks Secrets", () => {
  it("masks a Secret's values and its last-applied-configuration, which holds them too", async () => {
    const { objectDiff } = await import("./diff");
    const secret = (password: string) => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", annotations: { "kubectl.kubernetes.io/last-applied-configuration": `{"data":{"password":"${password}"}}` } }, data: { password } });
    const out = objectDiff(secret("aHVudGVyMg=="), secret("c2VjcmV0"));
    expect(out).not.toContain("aHVudGVyMg==");
    expect(out).not.toContain("c2VjcmV0");
    expect(out).toContain("*** (before)");
  });
});
