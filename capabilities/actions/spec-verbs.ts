// The fields of each verb. Only what can be known without the cluster: a target that does
// not exist, or a path missing from the artifact, is found when the action runs.
import { compileExprs, InvalidCELError } from "../health";
import type { VerbName } from "./spec";
import { checkPositiveDuration, exactlyOne, isObject, oneOf, optionalString, requireString, type Check } from "./spec-check";

export const httpMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;
export const patchTypes = ["merge", "json"] as const;
export const propagationPolicies = ["Foreground", "Background", "Orphan"] as const;

type Fields = Record<string, unknown>;

const verbChecks: Record<VerbName, (c: Check, at: string, v: Fields) => void> = {
  http: checkHttp,
  job: (c, at, v) => checkSource(c, at, v, "template"),
  wait: checkWait,
  patch: checkPatch,
  delete: checkDelete,
  apply: (c, at, v) => checkSource(c, at, v, "manifests"),
};

export function checkVerb(c: Check, at: string, verb: VerbName, value: unknown): void {
  if (!isObject(value)) return c.fail(at, "must be an object");
  verbChecks[verb](c, at, value);
}

function checkHttp(c: Check, at: string, v: Fields): void {
  checkUrl(c, `${at}.url`, v.url);
  oneOf(c, `${at}.method`, v.method, httpMethods);
  optionalString(c, `${at}.body`, v.body);
  if (v.body !== undefined && v.bodyFrom !== undefined) c.fail(at, "set body or bodyFrom, not both");
  if (v.bodyFrom !== undefined) checkValueFrom(c, `${at}.bodyFrom`, v.bodyFrom);
  if (v.headers !== undefined) checkHeaders(c, `${at}.headers`, v.headers);
  if (v.expectedStatus !== undefined) checkStatuses(c, `${at}.expectedStatus`, v.expectedStatus);
}

function checkUrl(c: Check, at: string, raw: unknown): void {
  if (!requireString(c, at, raw)) return;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return c.fail(at, `${JSON.stringify(raw)} is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return c.fail(at, `scheme ${url.protocol.replace(/:$/, "")} is not supported (only http and https)`);
  }
  // Status and events would show them; a header from a Secret keeps them out of the spec.
  if (url.username || url.password) c.fail(at, "must not carry credentials: send them in a header whose value comes from a Secret");
}

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function checkHeaders(c: Check, at: string, headers: unknown): void {
  if (!Array.isArray(headers)) return c.fail(at, "must be a list of {name, value} or {name, valueFrom}");
  headers.forEach((h: unknown, i) => {
    const hat = `${at}[${i}]`;
    if (!isObject(h)) return c.fail(hat, "must be an object");
    if (requireString(c, `${hat}.name`, h.name) && !headerName.test(h.name)) c.fail(`${hat}.name`, `${JSON.stringify(h.name)} is not an HTTP header name`);
    if (exactlyOne(c, hat, h, "value", "valueFrom") === "valueFrom") checkValueFrom(c, `${hat}.valueFrom`, h.valueFrom);
    else if (typeof h.value === "string" && /[\r\n]/.test(h.value)) c.fail(`${hat}.value`, "must not contain line breaks");
    else optionalString(c, `${hat}.value`, h.value);
  });
}

function checkValueFrom(c: Check, at: string, v: unknown): void {
  const ref = isObject(v) ? v.secretKeyRef : undefined;
  if (!isObject(ref)) return c.fail(`${at}.secretKeyRef`, "is required: {name, key} of a Secret in the StageSet's namespace");
  requireString(c, `${at}.secretKeyRef.name`, ref.name);
  requireString(c, `${at}.secretKeyRef.key`, ref.key);
}

function checkStatuses(c: Check, at: string, v: unknown): void {
  if (!Array.isArray(v) || v.length === 0) return c.fail(at, "must be a non-empty list of status codes (leave it out to accept any 2xx)");
  v.forEach((s: unknown, i) => {
    if (!(typeof s === "number" && Number.isInteger(s) && s >= 100 && s <= 599)) c.fail(`${at}[${i}]`, `${JSON.stringify(s)} is not an HTTP status (100-599)`);
  });
}

function checkWait(c: Check, at: string, v: Fields): void {
  const which = exactlyOne(c, at, v, "duration", "until");
  if (which === "duration") checkPositiveDuration(c, `${at}.duration`, v.duration);
  if (which === "until") checkUntil(c, `${at}.until`, v.until);
}

function checkUntil(c: Check, at: string, v: unknown): void {
  if (!isObject(v)) return c.fail(at, "must be an object: {apiVersion, kind, name, namespace?, expr}");
  checkObjectRef(c, at, v, true);
  if (requireString(c, `${at}.expr`, v.expr)) {
    const problem = celProblem(v.expr);
    if (problem) c.fail(`${at}.expr`, problem);
  }
}

// The same compiler as readyChecks.exprs, through its one-entry form; its message starts
// with the entry's position, which means nothing here, so that part is cut.
const celPrefix = "readyChecks.exprs[0] (v1 Object) current: ";

/** Why the CEL expression cannot be used as a wait condition, or undefined when it can. */
export function celProblem(expr: string): string | undefined {
  try {
    compileExprs([{ apiVersion: "v1", kind: "Object", current: expr }]);
    return undefined;
  } catch (err) {
    if (!(err instanceof InvalidCELError)) throw err;
    return err.message.startsWith(celPrefix) ? err.message.slice(celPrefix.length) : err.message;
  }
}

function checkObjectRef(c: Check, at: string, v: Fields, needsName: boolean): void {
  requireString(c, `${at}.apiVersion`, v.apiVersion);
  requireString(c, `${at}.kind`, v.kind);
  if (needsName) requireString(c, `${at}.name`, v.name);
  optionalString(c, `${at}.namespace`, v.namespace);
}

function checkPatch(c: Check, at: string, v: Fields): void {
  const target = v.target;
  if (!isObject(target)) c.fail(`${at}.target`, "is required: {apiVersion, kind, name or selector, namespace?}");
  else checkPatchTarget(c, `${at}.target`, target);
  oneOf(c, `${at}.type`, v.type, patchTypes);
  if (v.patch === undefined || v.patch === null) return c.fail(`${at}.patch`, "is required");
  if (v.type === "json") checkJsonPatch(c, `${at}.patch`, v.patch);
  if (v.type === "merge" && !isObject(v.patch)) c.fail(`${at}.patch`, "a merge patch must be an object");
}

function checkPatchTarget(c: Check, at: string, t: Fields): void {
  checkObjectRef(c, at, t, false);
  const which = exactlyOne(c, at, t, "name", "selector");
  if (which === "name") requireString(c, `${at}.name`, t.name);
  if (which === "selector" && !selectsSomething(t.selector)) {
    c.fail(`${at}.selector`, "must set matchLabels or matchExpressions: an empty selector matches every object");
  }
}

function selectsSomething(s: unknown): boolean {
  if (!isObject(s)) return false;
  const labels = isObject(s.matchLabels) && Object.keys(s.matchLabels).length > 0;
  return labels || (Array.isArray(s.matchExpressions) && s.matchExpressions.length > 0);
}

function checkJsonPatch(c: Check, at: string, patch: unknown): void {
  if (!Array.isArray(patch)) return c.fail(at, "a json patch must be a list of operations ({op, path, value?})");
  patch.forEach((op: unknown, i) => {
    if (!isObject(op) || typeof op.op !== "string" || typeof op.path !== "string") c.fail(`${at}[${i}]`, "must be an operation with op and path");
  });
}

function checkDelete(c: Check, at: string, v: Fields): void {
  if (!isObject(v.target)) c.fail(`${at}.target`, "is required: {apiVersion, kind, name, namespace?}");
  else checkObjectRef(c, `${at}.target`, v.target, true);
  if (v.propagationPolicy !== undefined) oneOf(c, `${at}.propagationPolicy`, v.propagationPolicy, propagationPolicies);
}

// job: {template | path}; apply: {manifests | path}. The path is a file in the stage's artifact.
function checkSource(c: Check, at: string, v: Fields, inline: "template" | "manifests"): void {
  const which = exactlyOne(c, at, v, "path", inline);
  if (which === "path") requireString(c, `${at}.path`, v.path);
  if (which === "template" && !isObject(v.template)) c.fail(`${at}.template`, "must be a Job spec (an object)");
  if (which === "manifests") {
    const list = v.manifests;
    if (!Array.isArray(list) || list.length === 0) c.fail(`${at}.manifests`, "must be a non-empty list of objects");
    else list.forEach((m: unknown, i) => isObject(m) || c.fail(`${at}.manifests[${i}]`, "must be an object"));
  }
}
