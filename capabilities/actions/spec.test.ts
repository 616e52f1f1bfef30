// validateActions: each rule, with the field path it reports and its message.
import { describe, expect, it } from "vitest";
import { formatSpecError, validateActions } from "./index";

const at = "spec.stages[2].actions";
const validate = (actions: unknown) => validateActions("web", actions, at);

const http = (more: Record<string, unknown> = {}) => ({ name: "smoke", http: { method: "GET", url: "https://smoke.example.com/health", ...more } });
const wait = (more: Record<string, unknown>) => ({ name: "settle", wait: more });
const until = (more: Record<string, unknown> = {}) => wait({ until: { apiVersion: "apps/v1", kind: "Deployment", name: "web", expr: "status.readyReplicas == spec.replicas", ...more } });
const patch = (more: Record<string, unknown> = {}, target: Record<string, unknown> = { name: "web" }) => ({
  name: "scale",
  patch: { target: { apiVersion: "apps/v1", kind: "Deployment", ...target }, type: "merge", patch: { spec: { replicas: 3 } }, ...more },
});
const del = (more: Record<string, unknown> = {}, target: Record<string, unknown> = { name: "old" }) => ({
  name: "cleanup",
  delete: { target: { apiVersion: "batch/v1", kind: "Job", ...target }, ...more },
});
const pre = (...actions: unknown[]) => ({ pre: actions });

describe("validateActions accepts", () => {
  it.each([
    { name: "no actions", actions: undefined },
    { name: "empty lists", actions: { pre: [], post: [], onFailure: [] } },
    { name: "http with every field", actions: pre(http({ method: "POST", bodyFrom: { secretKeyRef: { name: "hook", key: "payload" } }, headers: [{ name: "X-Token", valueFrom: { secretKeyRef: { name: "hook", key: "token" } } }, { name: "Content-Type", value: "application/json" }], expectedStatus: [200, 202] })) },
    { name: "timeout and retries", actions: pre({ ...http(), timeout: "1m30s", retries: 0 }) },
    { name: "wait for a duration", actions: { post: [wait({ duration: "30s" })] } },
    { name: "wait until a CEL condition", actions: { post: [until({ namespace: "apps" })] } },
    { name: "patch by name", actions: pre(patch()) },
    { name: "json patch by selector", actions: pre(patch({ type: "json", patch: [{ op: "replace", path: "/spec/replicas", value: 0 }] }, { selector: { matchLabels: { app: "web" } } })) },
    { name: "delete with a policy", actions: { onFailure: [del({ propagationPolicy: "Orphan" })] } },
    { name: "job from the artifact", actions: pre({ name: "migrate", job: { path: "jobs/migrate.yaml" } }) },
    { name: "inline job", actions: pre({ name: "migrate", job: { template: { spec: { template: { spec: { containers: [] } } } } } }) },
    { name: "apply inline manifests", actions: pre({ name: "maint", apply: { manifests: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "maint" } }] } }) },
    { name: "apply from the artifact", actions: pre({ name: "maint", apply: { path: "maintenance" } }) },
    { name: "one name in each list", actions: { pre: [http()], post: [{ ...http(), name: "smoke-2" }], onFailure: [{ ...http(), name: "smoke-3" }] } },
  ])("$name", ({ actions }) => {
    expect(validate(actions)).toEqual([]);
  });
});

interface Row {
  name: string;
  actions: unknown;
  path: string;
  message: string | RegExp;
}

const common: Row[] = [
  { name: "actions not an object", actions: [], path: at, message: "must be an object with pre, post and onFailure lists" },
  { name: "unknown list", actions: { onfailure: [] }, path: `${at}.onfailure`, message: "is not a list of actions: use pre, post or onFailure" },
  { name: "list not a list", actions: { post: {} }, path: `${at}.post`, message: "must be a list of actions" },
  { name: "action not an object", actions: pre("smoke"), path: `${at}.pre[0]`, message: "must be an object" },
  { name: "no verb", actions: pre({ name: "smoke" }), path: `${at}.pre[0]`, message: "has no verb: set exactly one of http, job, wait, patch, delete, apply" },
  { name: "two verbs", actions: pre({ ...http(), wait: { duration: "5s" } }), path: `${at}.pre[0]`, message: "has 2 verbs (http, wait): set exactly one" },
  { name: "three verbs", actions: pre({ ...patch(), ...del(), job: { path: "j.yaml" } }), path: `${at}.pre[0]`, message: "has 3 verbs (job, patch, delete): set exactly one" },
  { name: "missing name", actions: pre({ ...http(), name: undefined }), path: `${at}.pre[0].name`, message: "is required" },
  { name: "empty name", actions: pre({ ...http(), name: "" }), path: `${at}.pre[0].name`, message: "is required" },
  { name: "upper-case name", actions: pre({ ...http(), name: "Smoke" }), path: `${at}.pre[0].name`, message: /^"Smoke" is not a DNS label/ },
  { name: "name with a dot", actions: pre({ ...http(), name: "smoke.test" }), path: `${at}.pre[0].name`, message: /^"smoke\.test" is not a DNS label/ },
  { name: "name ending in '-'", actions: pre({ ...http(), name: "smoke-" }), path: `${at}.pre[0].name`, message: /is not a DNS label/ },
  { name: "name of 64 characters", actions: pre({ ...http(), name: "a".repeat(64) }), path: `${at}.pre[0].name`, message: /is not a DNS label \(at most 63/ },
  { name: "name not a string", actions: pre({ ...http(), name: 7 }), path: `${at}.pre[0].name`, message: /^7 is not a DNS label/ },
  { name: "duplicate name in one list", actions: pre(http(), http()), path: `${at}.pre[1].name`, message: `"smoke" is already the name of ${at}.pre[0]: names are unique within a stage, across pre, post and onFailure` },
  { name: "duplicate name across lists", actions: { pre: [http()], onFailure: [http()] }, path: `${at}.onFailure[0].name`, message: /already the name of spec\.stages\[2\]\.actions\.pre\[0\]/ },
  { name: "timeout not a duration", actions: pre({ ...http(), timeout: "5 minutes" }), path: `${at}.pre[0].timeout`, message: '"5 minutes" is not a duration (like "30s", "5m" or "1h30m")' },
  { name: "timeout without a unit", actions: pre({ ...http(), timeout: "30" }), path: `${at}.pre[0].timeout`, message: /^"30" is not a duration/ },
  { name: "timeout a number", actions: pre({ ...http(), timeout: 30 }), path: `${at}.pre[0].timeout`, message: /^30 is not a duration/ },
  { name: "zero timeout", actions: pre({ ...http(), timeout: "0s" }), path: `${at}.pre[0].timeout`, message: "must be more than zero" },
  { name: "negative retries", actions: pre({ ...http(), retries: -1 }), path: `${at}.pre[0].retries`, message: "must be a whole number, 0 or more; got -1" },
  { name: "fractional retries", actions: pre({ ...http(), retries: 1.5 }), path: `${at}.pre[0].retries`, message: "must be a whole number, 0 or more; got 1.5" },
  { name: "retries as text", actions: pre({ ...http(), retries: "3" }), path: `${at}.pre[0].retries`, message: 'must be a whole number, 0 or more; got "3"' },
];

const p0 = `${at}.pre[0].http`;
const httpRows: Row[] = [
  { name: "http not an object", actions: pre({ name: "smoke", http: "https://x" }), path: p0, message: "must be an object" },
  { name: "missing url", actions: pre(http({ url: undefined })), path: `${p0}.url`, message: "is required" },
  { name: "unparsable url", actions: pre(http({ url: "not a url" })), path: `${p0}.url`, message: '"not a url" is not a valid URL' },
  { name: "url without a host", actions: pre(http({ url: "http://" })), path: `${p0}.url`, message: '"http://" is not a valid URL' },
  { name: "ftp url", actions: pre(http({ url: "ftp://files.example.com/x" })), path: `${p0}.url`, message: "scheme ftp is not supported (only http and https)" },
  { name: "file url", actions: pre(http({ url: "file:///etc/passwd" })), path: `${p0}.url`, message: "scheme file is not supported (only http and https)" },
  { name: "credentials in the url", actions: pre(http({ url: "https://user:pw@hooks.example.com/" })), path: `${p0}.url`, message: /^must not carry credentials/ },
  { name: "missing method", actions: pre(http({ method: undefined })), path: `${p0}.method`, message: "is required: one of GET, HEAD, POST, PUT, PATCH, DELETE" },
  { name: "unknown method", actions: pre(http({ method: "TRACE" })), path: `${p0}.method`, message: '"TRACE" is not one of GET, HEAD, POST, PUT, PATCH, DELETE' },
  { name: "lower-case method", actions: pre(http({ method: "post" })), path: `${p0}.method`, message: '"post" is not one of GET, HEAD, POST, PUT, PATCH, DELETE' },
  { name: "body and bodyFrom", actions: pre(http({ body: "{}", bodyFrom: { secretKeyRef: { name: "s", key: "k" } } })), path: p0, message: "set body or bodyFrom, not both" },
  { name: "body not a string", actions: pre(http({ body: { a: 1 } })), path: `${p0}.body`, message: 'must be a string, got {"a":1}' },
  { name: "bodyFrom without secretKeyRef", actions: pre(http({ bodyFrom: {} })), path: `${p0}.bodyFrom.secretKeyRef`, message: /^is required/ },
  { name: "bodyFrom without a key", actions: pre(http({ bodyFrom: { secretKeyRef: { name: "s" } } })), path: `${p0}.bodyFrom.secretKeyRef.key`, message: "is required" },
  { name: "headers not a list", actions: pre(http({ headers: { a: "b" } })), path: `${p0}.headers`, message: /^must be a list/ },
  { name: "header without a name", actions: pre(http({ headers: [{ value: "b" }] })), path: `${p0}.headers[0].name`, message: "is required" },
  { name: "header name with a space", actions: pre(http({ headers: [{ name: "X Token", value: "b" }] })), path: `${p0}.headers[0].name`, message: '"X Token" is not an HTTP header name' },
  { name: "header with value and valueFrom", actions: pre(http({ headers: [{ name: "a", value: "b", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] })), path: `${p0}.headers[0]`, message: "set value or valueFrom, not both" },
  { name: "header with neither", actions: pre(http({ headers: [{ name: "a" }] })), path: `${p0}.headers[0]`, message: "set one of value and valueFrom" },
  { name: "header value with a line break", actions: pre(http({ headers: [{ name: "a", value: "b\r\nHost: evil" }] })), path: `${p0}.headers[0].value`, message: "must not contain line breaks" },
  { name: "header valueFrom without a Secret name", actions: pre(http({ headers: [{ name: "a", valueFrom: { secretKeyRef: { key: "k" } } }] })), path: `${p0}.headers[0].valueFrom.secretKeyRef.name`, message: "is required" },
  { name: "status below 100", actions: pre(http({ expectedStatus: [200, 99] })), path: `${p0}.expectedStatus[1]`, message: "99 is not an HTTP status (100-599)" },
  { name: "status above 599", actions: pre(http({ expectedStatus: [600] })), path: `${p0}.expectedStatus[0]`, message: "600 is not an HTTP status (100-599)" },
  { name: "status as text", actions: pre(http({ expectedStatus: ["200"] })), path: `${p0}.expectedStatus[0]`, message: '"200" is not an HTTP status (100-599)' },
  { name: "fractional status", actions: pre(http({ expectedStatus: [200.5] })), path: `${p0}.expectedStatus[0]`, message: "200.5 is not an HTTP status (100-599)" },
  { name: "empty expectedStatus", actions: pre(http({ expectedStatus: [] })), path: `${p0}.expectedStatus`, message: /^must be a non-empty list/ },
];

const w = `${at}.post[0].wait`;
const post = (...actions: unknown[]) => ({ post: actions });
const waitRows: Row[] = [
  { name: "wait with neither", actions: post(wait({})), path: w, message: "set one of duration and until" },
  { name: "wait with both", actions: post(wait({ duration: "5s", until: {} })), path: w, message: "set duration or until, not both" },
  { name: "bad wait duration", actions: post(wait({ duration: "soon" })), path: `${w}.duration`, message: /^"soon" is not a duration/ },
  { name: "zero wait duration", actions: post(wait({ duration: "0ms" })), path: `${w}.duration`, message: "must be more than zero" },
  { name: "until not an object", actions: post(wait({ until: "ready" })), path: `${w}.until`, message: /^must be an object/ },
  { name: "until without kind", actions: post(until({ kind: undefined })), path: `${w}.until.kind`, message: "is required" },
  { name: "until without name", actions: post(until({ name: "" })), path: `${w}.until.name`, message: "is required" },
  { name: "until without expr", actions: post(until({ expr: undefined })), path: `${w}.until.expr`, message: "is required" },
  { name: "expr that does not parse", actions: post(until({ expr: "status.phase ==" })), path: `${w}.until.expr`, message: /^does not parse: / },
  { name: "expr that is not a bool", actions: post(until({ expr: "1 + 2" })), path: `${w}.until.expr`, message: "must evaluate to a bool, but its type is int" },
  { name: "expr with a type error", actions: post(until({ expr: "1 + 'a' == 2" })), path: `${w}.until.expr`, message: /^does not type-check: no such overload/ },
  { name: "expr with a regex RE2 does not accept", actions: post(until({ expr: "metadata.name.matches('a(?=b)')" })), path: `${w}.until.expr`, message: /is not a valid RE2 regular expression/ },
];

const pt = `${at}.pre[0].patch`;
const patchRows: Row[] = [
  { name: "patch without target", actions: pre({ name: "p", patch: { type: "merge", patch: {} } }), path: `${pt}.target`, message: /^is required/ },
  { name: "patch target without apiVersion", actions: pre(patch({}, { apiVersion: undefined, name: "web" })), path: `${pt}.target.apiVersion`, message: "is required" },
  { name: "patch target with neither name nor selector", actions: pre(patch({}, {})), path: `${pt}.target`, message: "set one of name and selector" },
  { name: "patch target with both", actions: pre(patch({}, { name: "web", selector: { matchLabels: { app: "web" } } })), path: `${pt}.target`, message: "set name or selector, not both" },
  { name: "empty selector", actions: pre(patch({}, { selector: {} })), path: `${pt}.target.selector`, message: /^must set matchLabels or matchExpressions/ },
  { name: "missing patch type", actions: pre(patch({ type: undefined })), path: `${pt}.type`, message: "is required: one of merge, json" },
  { name: "strategic patch type", actions: pre(patch({ type: "strategic" })), path: `${pt}.type`, message: '"strategic" is not one of merge, json' },
  { name: "missing patch", actions: pre(patch({ patch: undefined })), path: `${pt}.patch`, message: "is required" },
  { name: "json patch that is an object", actions: pre(patch({ type: "json" })), path: `${pt}.patch`, message: /^a json patch must be a list of operations/ },
  { name: "json patch that is a string", actions: pre(patch({ type: "json", patch: '[{"op":"remove","path":"/a"}]' })), path: `${pt}.patch`, message: /^a json patch must be a list/ },
  { name: "json patch operation without path", actions: pre(patch({ type: "json", patch: [{ op: "remove" }] })), path: `${pt}.patch[0]`, message: "must be an operation with op and path" },
  { name: "merge patch that is a list", actions: pre(patch({ patch: [] })), path: `${pt}.patch`, message: "a merge patch must be an object" },
];

const d = `${at}.onFailure[0].delete`;
const onFailure = (...actions: unknown[]) => ({ onFailure: actions });
const otherRows: Row[] = [
  { name: "delete without target", actions: onFailure({ name: "d", delete: {} }), path: `${d}.target`, message: /^is required/ },
  { name: "delete without name", actions: onFailure(del({}, {})), path: `${d}.target.name`, message: "is required" },
  { name: "delete without kind", actions: onFailure(del({}, { kind: undefined, name: "x" })), path: `${d}.target.kind`, message: "is required" },
  { name: "bad propagationPolicy", actions: onFailure(del({ propagationPolicy: "Cascade" })), path: `${d}.propagationPolicy`, message: '"Cascade" is not one of Foreground, Background, Orphan' },
  { name: "lower-case propagationPolicy", actions: onFailure(del({ propagationPolicy: "orphan" })), path: `${d}.propagationPolicy`, message: '"orphan" is not one of Foreground, Background, Orphan' },
  { name: "job with neither", actions: pre({ name: "j", job: {} }), path: `${at}.pre[0].job`, message: "set one of path and template" },
  { name: "job with both", actions: pre({ name: "j", job: { path: "a.yaml", template: {} } }), path: `${at}.pre[0].job`, message: "set path or template, not both" },
  { name: "job template not an object", actions: pre({ name: "j", job: { template: "kind: Job" } }), path: `${at}.pre[0].job.template`, message: "must be a Job spec (an object)" },
  { name: "job path empty", actions: pre({ name: "j", job: { path: "" } }), path: `${at}.pre[0].job.path`, message: "is required" },
  { name: "apply with neither", actions: pre({ name: "a", apply: {} }), path: `${at}.pre[0].apply`, message: "set one of path and manifests" },
  { name: "apply with both", actions: pre({ name: "a", apply: { path: "x", manifests: [{}] } }), path: `${at}.pre[0].apply`, message: "set path or manifests, not both" },
  { name: "apply with no manifests", actions: pre({ name: "a", apply: { manifests: [] } }), path: `${at}.pre[0].apply.manifests`, message: "must be a non-empty list of objects" },
  { name: "apply with a manifest that is text", actions: pre({ name: "a", apply: { manifests: [{}, "kind: x"] } }), path: `${at}.pre[0].apply.manifests[1]`, message: "must be an object" },
];

describe("validateActions reports", () => {
  it.each<Row>([...common, ...httpRows, ...waitRows, ...patchRows, ...otherRows])("$name", ({ actions, path, message }) => {
    const errors = validate(actions);
    expect(errors).toHaveLength(1);
    const [e] = errors;
    expect(e?.stage).toBe("web");
    expect(e?.path).toBe(path);
    if (typeof message === "string") expect(e?.message).toBe(message);
    else expect(e?.message).toMatch(message);
  });
});

describe("validateActions", () => {
  it("reports every problem in one pass, in spec order", () => {
    const errors = validate({ pre: [{ ...http({ url: "ftp://x" }), retries: -2 }], post: [wait({})] });
    expect(errors.map(formatSpecError)).toEqual([
      `${at}.pre[0].retries: must be a whole number, 0 or more; got -2`,
      `${at}.pre[0].http.url: scheme ftp is not supported (only http and https)`,
      `${at}.post[0].wait: set one of duration and until`,
    ]);
  });

  it("defaults the path to actions", () => {
    expect(validateActions("web", pre({ name: "x" }))[0]?.path).toBe("actions.pre[0]");
  });
});
