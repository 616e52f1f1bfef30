// CEL ready checks: compile errors name the expression; evaluation follows Flux's
// healthCheckExprs (research/contracts.md §5); objectHealth picks CEL or kstatus.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Reason, StageSetError, type HealthExpr } from "../api";
import { compileExprs, evaluate, InvalidCELError, objectHealth, type HealthStatus } from "./index";

// The example from seeds/progressive-delivery-gate.txt.
const rolloutExpr: HealthExpr = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Rollout",
  current: "status.phase == 'Healthy'",
  inProgress: "status.phase in ['Progressing', 'Paused']",
  failed: "status.phase == 'Degraded'",
};
const widget = (current: string, more: Partial<HealthExpr> = {}): HealthExpr => ({ apiVersion: "example.com/v1", kind: "Widget", current, ...more });

describe("compileExprs rejects what cannot run", () => {
  it.each<{ name: string; exprs: HealthExpr[]; message: string | RegExp }>([
    { name: "syntax error names index, kind and field", exprs: [widget("true"), { ...rolloutExpr, failed: "status.phase ==" }], message: /^readyChecks\.exprs\[1\] \(argoproj\.io\/v1alpha1 Rollout\) failed: does not parse: Unexpected token: EOF/ },
    { name: "unterminated string", exprs: [widget("status.phase == 'Ready")], message: /^readyChecks\.exprs\[0\] \(example\.com\/v1 Widget\) current: does not parse: Unterminated string/ },
    { name: "int result", exprs: [widget("1 + 2")], message: "readyChecks.exprs[0] (example.com/v1 Widget) current: must evaluate to a bool, but its type is int" },
    { name: "string result", exprs: [widget("true", { inProgress: "'yes'" })], message: "readyChecks.exprs[0] (example.com/v1 Widget) inProgress: must evaluate to a bool, but its type is string" },
    { name: "optional result", exprs: [widget("status.?ready")], message: /current: must evaluate to a bool, but its type is optional<dyn>/ },
    { name: "type error", exprs: [widget("1 + 'a' == 2")], message: /current: does not type-check: no such overload: int \+ string/ },
    { name: "macro misuse", exprs: [widget("status.conditions.exists(c, )")], message: /current: does not (parse|type-check)/ },
    { name: "current missing", exprs: [widget("")], message: "readyChecks.exprs[0] (example.com/v1 Widget) current: must be set" },
    { name: "kind missing", exprs: [{ ...widget("true"), kind: "" }], message: /^readyChecks\.exprs\[0\] \(example\.com\/v1 \) kind: must be set$/ },
    { name: "same group and kind twice, whatever the version", exprs: [rolloutExpr, { ...rolloutExpr, apiVersion: "argoproj.io/v1" }], message: "readyChecks.exprs[1] (argoproj.io/v1 Rollout) kind: duplicates readyChecks.exprs[0]: one entry per group and kind" },
    { name: "regex pattern not a literal", exprs: [widget("metadata.name.matches(spec.pattern)")], message: /current: matches\(\) needs a string literal pattern/ },
    { name: "a backreference (not RE2)", exprs: [widget("metadata.name.matches('(a)\\\\1')")], message: /current: matches\(\) pattern .* is not a valid RE2 regular expression/ },
    { name: "a lookahead deep inside a macro (not RE2)", exprs: [widget("status.names.exists(n, n.matches('a(?=b)'))")], message: /is not a valid RE2 regular expression/ },
    { name: "invalid regex", exprs: [widget("metadata.name.matches('(')")], message: /is not a valid RE2 regular expression/ },
    { name: "a program too large (counted repetition)", exprs: [widget("data.x.matches('\\\\pL{1000}\\\\d')")], message: /repeats 1000 times in all \(its counted repetitions multiplied\); at most 100/ },
    { name: "nested counted repetitions multiply", exprs: [widget("data.x.matches('(a{20}){10}')")], message: /repeats 200 times in all/ },
    { name: "our RE2 function called directly", exprs: [widget("data.x.re2Matches(data.p)")], message: /re2Matches\(\) is not a CEL function; use matches\(\)/ },
  ])("$name", ({ exprs, message }) => {
    let thrown: unknown;
    try {
      compileExprs(exprs);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InvalidCELError);
    expect(thrown).toBeInstanceOf(StageSetError);
    const err = thrown as InvalidCELError;
    expect(err.reason).toBe(Reason.InvalidCELExpression);
    expect(err.terminal).toBe(true);
    if (typeof message === "string") expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it.each([
    { name: "dyn result (checked at run time)", expr: "status.ready" },
    { name: "safe literal regex", expr: "metadata.name.matches('^web-[a-z]+(-[0-9]+)?$')" },
    { name: "optional chaining", expr: "status.?phase.orValue('') == 'Ready'" },
    { name: "string extensions", expr: "metadata.name.startsWith('web') && metadata.name.lowerAscii() == metadata.name" },
  ])("accepts $name", ({ expr }) => {
    expect(() => compileExprs([widget(expr)])).not.toThrow();
  });
});

interface EvalRow {
  name: string;
  exprs: HealthExpr[];
  yaml: string;
  status: HealthStatus | undefined;
  reason: string | undefined;
  message?: string | RegExp;
}

const ro = (status: string, meta = "generation: 3") => `apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web, ${meta}}\nstatus: {${status}}`;
const wd = (body: string) => `apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n${body}`;

describe("evaluate", () => {
  it.each<EvalRow>([
    { name: "current expression true", exprs: [rolloutExpr], yaml: ro("observedGeneration: '3', phase: Healthy"), status: "Current", reason: undefined, message: "Rollout: current expression is true: status.phase == 'Healthy'" },
    { name: "inProgress expression true", exprs: [rolloutExpr], yaml: ro("phase: Paused"), status: "InProgress", reason: "CELInProgress", message: "Rollout: inProgress expression is true: status.phase in ['Progressing', 'Paused']" },
    { name: "failed expression true", exprs: [rolloutExpr], yaml: ro("phase: Degraded"), status: "Failed", reason: "CELFailed", message: "Rollout: failed expression is true: status.phase == 'Degraded'" },
    { name: "none true: InProgress", exprs: [rolloutExpr], yaml: ro("phase: Weird"), status: "InProgress", reason: "CELNotCurrent", message: "Rollout: current expression is false: status.phase == 'Healthy'" },
    { name: "inProgress wins over current", exprs: [widget("true", { inProgress: "status.busy" })], yaml: wd("status: {busy: true}"), status: "InProgress", reason: "CELInProgress" },
    { name: "failed wins over current", exprs: [widget("true", { failed: "status.broken" })], yaml: wd("status: {broken: true}"), status: "Failed", reason: "CELFailed" },
    { name: "inProgress wins over failed", exprs: [widget("true", { inProgress: "true", failed: "true" })], yaml: wd(""), status: "InProgress", reason: "CELInProgress" },
    { name: "no entry for the kind", exprs: [rolloutExpr], yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}", status: undefined, reason: undefined },
    { name: "same kind in another group does not match", exprs: [rolloutExpr], yaml: ro("phase: Healthy").replace("argoproj.io", "example.com"), status: undefined, reason: undefined },
    { name: "the version is ignored", exprs: [rolloutExpr], yaml: ro("phase: Healthy").replace("v1alpha1", "v1"), status: "Current", reason: undefined },
    { name: "generation not observed (integers, as Flux)", exprs: [widget("true")], yaml: wd("metadata: {generation: 2}\nstatus: {observedGeneration: 1}").replace("metadata: {name: w}\n", ""), status: "InProgress", reason: "LatestGenerationNotObserved", message: "Widget generation is 2, but latest observed generation is 1" },
    { name: "Rollout's string observedGeneration is never Unknown", exprs: [rolloutExpr], yaml: ro("observedGeneration: '3', phase: Degraded"), status: "Failed", reason: "CELFailed" },
    { name: "Rollout's numeric string behind generation waits", exprs: [rolloutExpr], yaml: ro("observedGeneration: '2', phase: Healthy"), status: "InProgress", reason: "LatestGenerationNotObserved" },
    { name: "deletion is not checked (Flux's CEL reader bypasses it)", exprs: [rolloutExpr], yaml: ro("phase: Healthy", "generation: 3, deletionTimestamp: '2024-05-01T10:00:00Z'"), status: "Current", reason: undefined },
    { name: "whole JSON number is a CEL int", exprs: [widget("status.replicas == 3 && type(status.replicas) == int")], yaml: wd("status: {replicas: 3}"), status: "Current", reason: undefined },
    { name: "int arithmetic works", exprs: [widget("spec.replicas + 1 == 4 && spec.replicas / 2 == 1")], yaml: wd("spec: {replicas: 3}\nstatus: {}"), status: "Current", reason: undefined },
    { name: "int compares with a double literal", exprs: [widget("spec.replicas == 3.0")], yaml: wd("spec: {replicas: 3}"), status: "Current", reason: undefined },
    { name: "fractional number stays a double", exprs: [widget("status.ratio > 1 && type(status.ratio) == double")], yaml: wd("status: {ratio: 1.5}"), status: "Current", reason: undefined },
    { name: "ints inside lists of maps", exprs: [widget("status.conditions.exists(c, c.type == 'Ready' && c.observedGeneration == metadata.generation)")], yaml: wd("status: {conditions: [{type: Ready, observedGeneration: 1}]}").replace("{name: w}", "{name: w, generation: 1}"), status: "Current", reason: undefined },
    { name: "missing field: Unknown with a has() hint", exprs: [widget("status.readyReplicas == 3")], yaml: wd("status: {}"), status: "Unknown", reason: "CELEvaluationFailed", message: "Widget: current expression failed: No such key: readyReplicas (guard optional fields with has()): status.readyReplicas == 3" },
    { name: "missing field guarded with has()", exprs: [widget("has(status.readyReplicas) && status.readyReplicas == 3")], yaml: wd("status: {}"), status: "InProgress", reason: "CELNotCurrent" },
    { name: "missing top-level status: Unknown, as in Flux", exprs: [widget("has(status.ready)")], yaml: wd(""), status: "Unknown", reason: "CELEvaluationFailed", message: /Unknown variable: status/ },
    { name: "index out of range: Unknown", exprs: [widget("status.conditions.filter(c, c.type == 'Ready')[0].status == 'True'")], yaml: wd("status: {conditions: []}"), status: "Unknown", reason: "CELEvaluationFailed", message: /index out of bounds/ },
    { name: "dyn expression that is not a bool at run time", exprs: [widget("status.phase")], yaml: wd("status: {phase: Ready}"), status: "Unknown", reason: "CELEvaluationFailed", message: "Widget: current expression returned string, not a bool: status.phase" },
    { name: "an error in inProgress stops evaluation", exprs: [widget("true", { inProgress: "status.x == 1" })], yaml: wd("status: {}"), status: "Unknown", reason: "CELEvaluationFailed", message: /^Widget: inProgress expression failed: No such key: x/ },
  ])("$name", ({ exprs, yaml, status, reason, message }) => {
    const got = evaluate(compileExprs(exprs), parse(yaml) as object);
    expect(got?.status).toBe(status);
    expect(got?.reason).toBe(reason);
    if (typeof message === "string") expect(got?.message).toBe(message);
    if (message instanceof RegExp) expect(got?.message).toMatch(message);
  });

  it("compiles once and evaluates many objects without changing them", () => {
    const compiled = compileExprs([rolloutExpr]);
    const objects = ["Healthy", "Paused", "Degraded"].map(phase => parse(ro(`phase: ${phase}`)) as object);
    const before = JSON.stringify(objects);
    expect(objects.map(o => evaluate(compiled, o)?.status)).toEqual(["Current", "InProgress", "Failed"]);
    expect(JSON.stringify(objects)).toBe(before);
  });
});

describe("objectHealth", () => {
  const compiled = compileExprs([widget("status.phase == 'Done'")]);
  it.each<{ name: string; yaml: string; withExprs: boolean; status: HealthStatus; reason: string | undefined }>([
    { name: "CEL entry for the kind replaces kstatus", yaml: wd("status: {phase: Done, conditions: [{type: Ready, status: 'False', reason: Waiting}]}"), withExprs: true, status: "Current", reason: undefined },
    { name: "kind without an entry falls back to kstatus", yaml: "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 2}\nstatus: {replicas: 1}", withExprs: true, status: "InProgress", reason: "LessReplicas" },
    { name: "no exprs at all: kstatus", yaml: wd("status: {phase: Done, conditions: [{type: Ready, status: 'False', reason: Waiting}]}"), withExprs: false, status: "InProgress", reason: "Waiting" },
    { name: "no exprs: the built-in Rollout rule", yaml: ro("observedGeneration: '3', phase: Healthy"), withExprs: false, status: "Current", reason: undefined },
  ])("$name", ({ yaml, withExprs, status, reason }) => {
    const got = objectHealth(parse(yaml) as object, withExprs ? compiled : undefined);
    expect(got.status).toBe(status);
    expect(got.reason).toBe(reason);
  });
});

describe("matches() runs on RE2, in linear time", () => {
  const obj = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name }, ...extra });
  const tenKiB = 10 * 1024;
  it.each([
    { pattern: "^(a|a)+$", text: "a".repeat(tenKiB - 1) + "!" },
    { pattern: "^(a+)+$", text: "a".repeat(tenKiB - 1) + "!" },
    { pattern: "^(a|aa)+$", text: "a".repeat(tenKiB - 1) + "!" },
    { pattern: "(x+x+)+y", text: "x".repeat(tenKiB) },
  ])("$pattern on 10 KiB, not matching: within a second (a few ms when idle; a backtracking engine would not finish)", ({ pattern, text }) => {
    const compiled = compileExprs([{ apiVersion: "example.com/v1", kind: "Widget", current: `data.x.matches('${pattern}')` }]);
    evaluate(compiled, obj("warm-up", { data: { x: "a" } }));
    const started = performance.now();
    const health = evaluate(compiled, obj("w", { data: { x: text } }));
    const ms = performance.now() - started;
    console.log(`matches('${pattern}') on ${text.length} characters: ${ms.toFixed(2)} ms`);
    expect(health?.status).toBe("InProgress");
    expect(ms).toBeLessThan(1_000);
  });

  it.each([
    { expr: "metadata.name.matches('^web-[0-9]+$')", name: "web-12", want: "Current" },
    { expr: "metadata.name.matches('^web-[0-9]+$')", name: "web-x", want: "InProgress" },
    { expr: "metadata.name.matches('b')", name: "abc", want: "Current" }, // find, not a whole-string match, as in CEL
    { expr: "!metadata.name.matches('^db') && metadata.name.matches('web')", name: "my-web", want: "Current" },
    { expr: "status.msg == '.matches(' && metadata.name.matches('x')", name: "x", want: "Current", extra: { status: { msg: ".matches(" } } },
  ])("$expr on $name → $want", ({ expr, name, want, extra }) => {
    const compiled = compileExprs([{ apiVersion: "example.com/v1", kind: "Widget", current: expr }]);
    expect(evaluate(compiled, obj(name, extra))?.status).toBe(want);
  });
});

it("matches() on more than 16 KiB is an evaluation error (Unknown), not a long wait", () => {
  const compiled = compileExprs([{ apiVersion: "example.com/v1", kind: "Widget", current: "data.x.matches('a')" }]);
  const health = evaluate(compiled, { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, data: { x: "b".repeat(16 * 1024 + 1) } });
  expect(health?.status).not.toBe("Current");
  expect(health?.message).toMatch(/over the 16384-character limit/);
});

describe("every evaluation has a bounded cost", () => {
  const configMap = (keys: number) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: Object.fromEntries([...Array(keys).keys()].map(i => [`k${i}`, `v${i}`])) });
  const check = (current: string) => compileExprs([{ apiVersion: "v1", kind: "ConfigMap", current }]);

  it.each([
    { name: "comprehensions three deep over 1,000 keys", expr: "data.all(a, data.all(b, data.all(c, a != c + 'x')))", keys: 1_000 },
    { name: "two deep over 1,000 keys", expr: "data.all(a, !data.exists(b, a == b + 'x'))", keys: 1_000 },
    { name: "a list made 64 times longer by +, walked twice nested", expr: "[1, 2, 3, 4, 5, 6, 7, 8].all(z, (data.map(k, k) + data.map(k, k) + data.map(k, k) + data.map(k, k) + data.map(k, k) + data.map(k, k) + data.map(k, k) + data.map(k, k)).all(a, a != 'x'))", keys: 200 },
  ])("refuses to start $name: Unknown, CELTooCostly, at once", ({ expr, keys }) => {
    const compiled = check(expr);
    const started = performance.now();
    const health = evaluate(compiled, configMap(keys));
    expect(performance.now() - started).toBeLessThan(100);
    expect(health).toMatchObject({ status: "Unknown", reason: "CELTooCostly" });
    expect(health?.message).toMatch(/^ConfigMap: current expression could take .* steps on this object \(comprehensions nested \d deep, over collections of up to \d+ items\); at most 1e\+6 are allowed: /);
  });

  it("runs the costliest kind it allows in well under a second (about 50 ms when idle)", () => {
    // Two deep over 200 keys (every pair visited), 14 nodes: 200^2 x 14 = 560,000 steps, under the budget.
    const compiled = check("data.all(a, !data.exists(b, a == 'k' && b == 'x'))");
    const started = performance.now();
    expect(evaluate(compiled, configMap(200))?.status).toBe("Current");
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it.each([
    { name: "a Deployment's conditions", expr: "status.conditions.exists(c, c.type == 'Available' && c.status == 'True')" },
    { name: "every container of every condition's pod (two deep)", expr: "status.conditions.all(c, spec.template.spec.containers.exists(x, x.name != c.type))" },
  ])("allows everyday expressions: $name", ({ expr }) => {
    const compiled = compileExprs([{ apiVersion: "apps/v1", kind: "Deployment", current: expr }]);
    const deployment = parse(`apiVersion: apps/v1
kind: Deployment
metadata: { name: web, generation: 1 }
spec: { template: { spec: { containers: [{ name: a }, { name: b }] } } }
status: { observedGeneration: 1, conditions: [{ type: Available, status: "True" }, { type: Progressing, status: "True" }] }
`) as object;
    expect(evaluate(compiled, deployment)?.status).toBe("Current");
  });
});
