// One row per rule of validateStageSet, a valid and an invalid spec each, beside the rows in
// admission.test.ts: every duration field, each CEL field, what CEL typing can and cannot tell
// before run time, action names and URLs, and all problems reported at once.
import { describe, expect, it } from "vitest";
import type { StageSet } from "../api";
import { describeProblems, validateStageSet } from ".";

const of = (spec: Record<string, unknown>): StageSet => ({ apiVersion: "stageset.dev/v1alpha1", kind: "StageSet", metadata: { name: "x", namespace: "y" }, spec }) as unknown as StageSet;
const stage = (name: string, extra: Record<string, unknown> = {}) => ({ name, sourceRef: { name: "src" }, ...extra });
const expr = (fields: Record<string, unknown>) => ({ readyChecks: { exprs: [{ apiVersion: "apps/v1", kind: "Deployment", current: "true", ...fields }] } });
const wait = (name: string, extra: Record<string, unknown> = {}) => ({ name, wait: { duration: "1s" }, ...extra });
const http = (url: string) => ({ name: "notify", http: { method: "POST", url } });
const exprPath = "spec.stages[0].readyChecks.exprs[0]";

type Row = { name: string; spec: Record<string, unknown>; problems: [string, RegExp][] };

const rows: Row[] = [
  { name: "no spec.stages at all", spec: {}, problems: [["spec.stages", /at least one stage is required/]] },
  { name: "a 63-character stage name", spec: { stages: [stage("a".repeat(63))] }, problems: [] },
  { name: "a 64-character stage name", spec: { stages: [stage("a".repeat(64))] }, problems: [["spec.stages[0].name", /not a DNS label.*at most 63/]] },
  { name: "a stage name ending in '-'", spec: { stages: [stage("db-")] }, problems: [["spec.stages[0].name", /"db-" is not a DNS label/]] },
  { name: "a name used three times", spec: { stages: [stage("db"), stage("app"), stage("db"), stage("db")] }, problems: [["spec.stages[2].name", /also the name of spec\.stages\[0\].*must be unique/], ["spec.stages[3].name", /also the name of spec\.stages\[0\]/]] },
  { name: "valid durations everywhere", spec: { stages: [stage("a", { timeout: "1h30m", readyChecks: { timeout: "90s" } })], interval: "10m", retryInterval: "500ms", timeout: "2h" }, problems: [] },
  { name: "a bad spec.retryInterval", spec: { stages: [stage("a")], retryInterval: "1d" }, problems: [["spec.retryInterval", /"1d" is not a duration \(like 90s, 10m or 1h30m\)/]] },
  { name: "a zero spec.timeout", spec: { stages: [stage("a")], timeout: "0m" }, problems: [["spec.timeout", /"0m" must be longer than zero/]] },
  { name: "a bad readyChecks.timeout", spec: { stages: [stage("a", { readyChecks: { timeout: "5 min" } })] }, problems: [["spec.stages[0].readyChecks.timeout", /not a duration/]] },
  { name: "an empty stage timeout", spec: { stages: [stage("a", { timeout: "" })] }, problems: [["spec.stages[0].timeout", /"" is not a duration/]] },
  { name: "all three CEL fields valid", spec: { stages: [stage("a", expr({ inProgress: "status.observedGeneration != metadata.generation", failed: "has(status.failed) && status.failed", current: "status.readyReplicas == spec.replicas" }))] }, problems: [] },
  // Fields of the object are dyn (custom resources need not have a status), so their type
  // is known only at run time: these compile, and evaluation reports a non-bool as Unknown.
  { name: "a dyn field, typed only at run time", spec: { stages: [stage("a", expr({ current: "status.readyReplicas" }))] }, problems: [] },
  { name: "no apiVersion", spec: { stages: [stage("a", expr({ apiVersion: "" }))] }, problems: [[exprPath, /apiVersion: must be set/]] },
  { name: "no kind", spec: { stages: [stage("a", expr({ kind: undefined }))] }, problems: [[exprPath, /kind: must be set/]] },
  { name: "no current", spec: { stages: [stage("a", expr({ current: " " }))] }, problems: [[exprPath, /current: must be set/]] },
  { name: "inProgress that does not parse", spec: { stages: [stage("a", expr({ inProgress: "status.(" }))] }, problems: [[exprPath, /inProgress: does not parse/]] },
  { name: "failed typed as a string", spec: { stages: [stage("a", expr({ failed: "'yes'" }))] }, problems: [[exprPath, /failed: must evaluate to a bool, but its type is string/]] },
  { name: "a comparison of unlike literals", spec: { stages: [stage("a", expr({ current: "1 == 'a'" }))] }, problems: [[exprPath, /current: does not type-check/]] },
  { name: "a safe matches() pattern", spec: { stages: [stage("a", expr({ current: "metadata.name.matches('^web-[0-9]+$')" }))] }, problems: [] },
  { name: "a lookahead (not RE2) in failed", spec: { stages: [stage("a", expr({ failed: "status.message.matches('x(?=y)')" }))] }, problems: [[exprPath, /failed: matches\(\) pattern "x\(\?=y\)" is not a valid RE2 regular expression/]] },
  { name: "a pattern not known before run time", spec: { stages: [stage("a", expr({ current: "metadata.name.matches(metadata.namespace)" }))] }, problems: [[exprPath, /needs a string literal pattern/]] },
  { name: "a group and kind listed twice", spec: { stages: [stage("a", { readyChecks: { exprs: [expr({}).readyChecks.exprs[0], { apiVersion: "apps/v1beta1", kind: "Deployment", current: "true" }] } })] }, problems: [["spec.stages[0].readyChecks.exprs[1]", /duplicates readyChecks\.exprs\[0\]/]] },
  { name: "valid actions in every hook", spec: { stages: [stage("a", { actions: { pre: [wait("p")], post: [http("https://hooks.example.com/done")], onFailure: [wait("f", { timeout: "1m", retries: 2 })] } })] }, problems: [] },
  { name: "an action name used twice", spec: { stages: [stage("a", { actions: { pre: [wait("x")], post: [wait("x")] } })] }, problems: [["spec.stages[0].actions.post[0].name", /"x" is already the name of spec\.stages\[0\]\.actions\.pre\[0\]/]] },
  { name: "an action URL that is not a URL", spec: { stages: [stage("a", { actions: { post: [http("not a url")] } })] }, problems: [["spec.stages[0].actions.post[0].http.url", /"not a url" is not a valid URL/]] },
  { name: "an action URL with another scheme", spec: { stages: [stage("a", { actions: { post: [http("ftp://files.example.com/")] } })] }, problems: [["spec.stages[0].actions.post[0].http.url", /scheme ftp is not supported \(only http and https\)/]] },
  { name: "a bad action timeout", spec: { stages: [stage("a", { actions: { pre: [wait("x", { timeout: "soon" })] } })] }, problems: [["spec.stages[0].actions.pre[0].timeout", /"soon" is not a duration/]] },
  { name: "a valid soak and approval", spec: { stages: [stage("a", { promotion: { soak: "10m", approval: "Required" } })] }, problems: [] },
  { name: "a soak that is not a duration", spec: { stages: [stage("a", { promotion: { soak: "a while" } })] }, problems: [["spec.stages[0].promotion.soak", /"a while" is not a duration/]] },
  { name: "dependencies on a StageSet and on a stage of it", spec: { stages: [stage("a")], dependsOn: [{ name: "db" }, { name: "db", stage: "schema" }, { name: "x", namespace: "other" }] }, problems: [] },
  { name: "a dependency on itself", spec: { stages: [stage("a")], dependsOn: [{ name: "x" }] }, problems: [["spec.dependsOn[0]", /StageSet y\/x cannot depend on itself/]] },
  { name: "a dependency on itself, namespace spelt out", spec: { stages: [stage("a")], dependsOn: [{ name: "x", namespace: "y", stage: "a" }] }, problems: [["spec.dependsOn[0]", /cannot depend on itself/]] },
  { name: "the same dependency twice", spec: { stages: [stage("a")], dependsOn: [{ name: "db" }, { name: "db", namespace: "y" }] }, problems: [["spec.dependsOn[1]", /the same dependency as spec\.dependsOn\[0\]/]] },
  { name: "a dependency's stage that is not a stage name", spec: { stages: [stage("a")], dependsOn: [{ name: "db", stage: "Schema" }] }, problems: [["spec.dependsOn[0].stage", /"Schema" is not a stage name/]] },
  { name: "notification targets by URL and by Secret", spec: { stages: [stage("a")], notify: [{ url: "https://hooks.example.com/x", events: ["Failed"] }, { secretRef: { name: "s", key: "url" }, events: ["Succeeded"], format: "slack" }] }, problems: [] },
  { name: "a notification URL with credentials", spec: { stages: [stage("a")], notify: [{ url: "https://user:token@hooks.example.com/x", events: ["Failed"] }] }, problems: [["spec.notify[0].url", /must not hold credentials/]] },
  { name: "a notification URL with another scheme", spec: { stages: [stage("a")], notify: [{ url: "ftp://hooks.example.com/", events: ["Failed"] }] }, problems: [["spec.notify[0].url", /scheme ftp is not supported/]] },
  { name: "negative action retries", spec: { stages: [stage("a", { actions: { pre: [wait("x", { retries: -1 })] } })] }, problems: [["spec.stages[0].actions.pre[0].retries", /whole number, 0 or more/]] },
];

describe("validateStageSet, rule by rule", () => {
  it.each(rows)("$name", ({ spec, problems }) => {
    const found = validateStageSet(of(spec));
    expect(found.map(p => p.path)).toEqual(problems.map(([path]) => path));
    found.forEach((p, i) => expect(p.message).toMatch(problems[i]![1]));
  });
});

describe("validateStageSet, several problems", () => {
  it("reports every problem of every stage, in field order, and joins them into one line", () => {
    const spec = { interval: "never", stages: [stage("App", { timeout: "0s" }), stage("b", { ...expr({ current: "1 + 1" }), actions: { pre: [{ name: "x" }] } })] };
    const found = validateStageSet(of(spec));
    expect(found.map(p => p.path)).toEqual(["spec.interval", "spec.stages[0].name", "spec.stages[0].timeout", "spec.stages[1].readyChecks.exprs[0]", "spec.stages[1].actions.pre[0]"]);
    const line = describeProblems(found);
    expect(line).not.toContain("\n");
    expect(line.split("; ").map(part => part.slice(0, part.indexOf(": ")))).toEqual(found.map(p => p.path));
  });

  it("stops at the first CEL problem of a stage (compileExprs throws on it), but checks every stage", () => {
    const twoBad = { readyChecks: { exprs: [expr({ current: "1" }).readyChecks.exprs[0], { apiVersion: "v1", kind: "Pod", current: "(" }] } };
    const found = validateStageSet(of({ stages: [stage("a", twoBad), stage("b", expr({ current: "2" }))] }));
    expect(found.map(p => p.path)).toEqual(["spec.stages[0].readyChecks.exprs[0]", "spec.stages[1].readyChecks.exprs[0]"]);
  });
});
