import { describe, expect, it } from "vitest";
import type { StageSet } from "../api";
import { validateStageSet, withActionDefaults } from ".";

const of = (spec: Record<string, unknown>): StageSet => ({ apiVersion: "stageset.dev/v1alpha1", kind: "StageSet", metadata: { name: "x", namespace: "y" }, spec }) as unknown as StageSet;
const stage = (name: string, extra: Record<string, unknown> = {}) => ({ name, sourceRef: { name: "src" }, ...extra });
const cel = (current: string) => ({ readyChecks: { exprs: [{ apiVersion: "apps/v1", kind: "Deployment", current }] } });

describe("validateStageSet", () => {
  it.each([
    { name: "a valid spec", spec: { stages: [stage("db"), stage("app", cel("status.readyReplicas == 2"))], interval: "10m" }, problems: [] },
    { name: "no stages", spec: { stages: [] }, problems: [["spec.stages", /at least one stage/]] },
    { name: "duplicate stage name", spec: { stages: [stage("db"), stage("db")] }, problems: [["spec.stages[1].name", /also the name of spec.stages\[0\]/]] },
    { name: "malformed stage name", spec: { stages: [stage("DB_1")] }, problems: [["spec.stages[0].name", /not a DNS label/]] },
    { name: "CEL that does not compile", spec: { stages: [stage("a", cel("status.x =="))] }, problems: [["spec.stages[0].readyChecks.exprs[0]", /current: does not parse/]] },
    { name: "CEL that is not a bool", spec: { stages: [stage("a", cel("1 + 1"))] }, problems: [["spec.stages[0].readyChecks.exprs[0]", /must evaluate to a bool/]] },
    { name: "a regex that is not RE2", spec: { stages: [stage("a", cel("metadata.name.matches('a(?=b)')"))] }, problems: [["spec.stages[0].readyChecks.exprs[0]", /matches/]] },
    { name: "an action with no verb", spec: { stages: [stage("a", { actions: { pre: [{ name: "x" }] } })] }, problems: [["spec.stages[0].actions.pre[0]", /verb/]] },
    { name: "an action with two verbs", spec: { stages: [stage("a", { actions: { pre: [{ name: "x", wait: { duration: "1s" }, delete: { target: { apiVersion: "v1", kind: "ConfigMap", name: "c" } } }] } })] }, problems: [["spec.stages[0].actions.pre[0]", /wait.*delete|delete.*wait/]] },
    { name: "a bad duration", spec: { stages: [stage("a", { timeout: "soon" })] }, problems: [["spec.stages[0].timeout", /not a duration/]] },
    { name: "a zero duration", spec: { stages: [stage("a")], interval: "0s" }, problems: [["spec.interval", /longer than zero/]] },
  ])("$name", ({ spec, problems }) => {
    const found = validateStageSet(of(spec));
    expect(found.map(p => p.path)).toEqual(problems.map(([path]) => path));
    found.forEach((p, i) => expect(p.message).toMatch(problems[i]![1] as RegExp));
  });
});

describe("withActionDefaults", () => {
  it("fills timeout and retries where missing, keeps what is set, and reports no change otherwise", () => {
    const ss = of({ stages: [stage("a", { actions: { pre: [{ name: "x", wait: { duration: "1s" } }], post: [{ name: "y", wait: { duration: "1s" }, timeout: "1m", retries: 2 }] } }), stage("b")] });
    const stages = withActionDefaults(ss)!;
    expect(stages[0]!.actions).toEqual({ pre: [{ name: "x", wait: { duration: "1s" }, timeout: "5m", retries: 0 }], post: [{ name: "y", wait: { duration: "1s" }, timeout: "1m", retries: 2 }] });
    expect(withActionDefaults(of({ stages })) ).toBeUndefined();
    expect(withActionDefaults(of({ stages: [stage("b")] }))).toBeUndefined();
  });
});
