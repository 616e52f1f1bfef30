// The typed actions of a stage (stages[].actions): pre runs before the stage applies, post
// once it is Ready, onFailure (best effort) when it fails. Each action does exactly one verb.
// The spec arrives from the API server, so validateActions checks shapes, not just values.
import { check, checkPositiveDuration, isObject, type ActionSpecError, type Check } from "./spec-check";
import { checkVerb, httpMethods, patchTypes, propagationPolicies } from "./spec-verbs";

export { formatSpecError, type ActionSpecError } from "./spec-check";
export { httpMethods, patchTypes, propagationPolicies };

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface ValueFrom {
  secretKeyRef: SecretKeyRef;
}

export type HttpMethod = (typeof httpMethods)[number];

export interface HttpHeader {
  name: string;
  value?: string;
  valueFrom?: ValueFrom;
}

export interface HttpVerb {
  method: HttpMethod;
  url: string;
  body?: string;
  bodyFrom?: ValueFrom;
  headers?: HttpHeader[];
  /** Default: any 2xx. */
  expectedStatus?: number[];
}

/** A Job to run to completion: inline, or a file in the stage's artifact. */
export interface JobVerb {
  template?: Record<string, unknown>;
  path?: string;
}

export interface WaitUntil {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  /** CEL, over the object's top-level fields (like readyChecks.exprs); must be a bool. */
  expr: string;
}

export interface WaitVerb {
  duration?: string;
  until?: WaitUntil;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface PatchTarget {
  apiVersion: string;
  kind: string;
  name?: string;
  selector?: LabelSelector;
  namespace?: string;
}

export interface PatchVerb {
  target: PatchTarget;
  /** merge: a merge patch (an object); json: an RFC 6902 list of operations. */
  type: (typeof patchTypes)[number];
  patch: unknown;
}

export interface DeleteVerb {
  target: { apiVersion: string; kind: string; name: string; namespace?: string };
  propagationPolicy?: (typeof propagationPolicies)[number];
}

/** Objects applied outside the stage's inventory: never pruned. */
export interface ApplyVerb {
  path?: string;
  manifests?: Record<string, unknown>[];
}

export interface Verbs {
  http?: HttpVerb;
  job?: JobVerb;
  wait?: WaitVerb;
  patch?: PatchVerb;
  delete?: DeleteVerb;
  apply?: ApplyVerb;
}

export const verbNames = ["http", "job", "wait", "patch", "delete", "apply"] as const satisfies readonly (keyof Verbs)[];
export type VerbName = (typeof verbNames)[number];

export interface Action extends Verbs {
  /** Unique within the stage across pre, post and onFailure: the ledger is keyed by it. */
  name: string;
  /** Bounds all attempts together. */
  timeout?: string;
  /** Further attempts after the first fails, with backoff. */
  retries?: number;
}

export const actionLists = ["pre", "post", "onFailure"] as const;
export type ActionList = (typeof actionLists)[number];

export type StageActions = Partial<Record<ActionList, Action[]>>;

/**
 * Every problem in one stage's `actions`, each at its field path under `path` (the caller
 * passes e.g. `spec.stages[2].actions`). Empty when the actions can run. Pure.
 */
export function validateActions(stageName: string, actions: unknown, path = "actions"): ActionSpecError[] {
  const c = check(stageName);
  if (actions === undefined || actions === null) return c.errors;
  if (!isObject(actions)) {
    c.fail(path, "must be an object with pre, post and onFailure lists");
    return c.errors;
  }
  for (const key of Object.keys(actions)) {
    if (!(actionLists as readonly string[]).includes(key)) c.fail(`${path}.${key}`, "is not a list of actions: use pre, post or onFailure");
  }
  const firstUse = new Map<string, string>();
  for (const list of actionLists) {
    const items = actions[list];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) c.fail(`${path}.${list}`, "must be a list of actions");
    else items.forEach((item: unknown, i) => checkAction(c, `${path}.${list}[${i}]`, item, firstUse));
  }
  return c.errors;
}

const dnsLabel = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

function checkAction(c: Check, at: string, action: unknown, firstUse: Map<string, string>): void {
  if (!isObject(action)) return c.fail(at, "must be an object");
  checkName(c, `${at}.name`, action.name, firstUse);
  if (action.timeout !== undefined) checkPositiveDuration(c, `${at}.timeout`, action.timeout);
  const retries = action.retries;
  if (retries !== undefined && !(typeof retries === "number" && Number.isInteger(retries) && retries >= 0)) {
    c.fail(`${at}.retries`, `must be a whole number, 0 or more; got ${JSON.stringify(retries)}`);
  }
  const verbs = verbNames.filter(v => action[v] !== undefined && action[v] !== null);
  if (verbs.length === 0) return c.fail(at, `has no verb: set exactly one of ${verbNames.join(", ")}`);
  if (verbs.length > 1) return c.fail(at, `has ${verbs.length} verbs (${verbs.join(", ")}): set exactly one`);
  const verb = verbs[0]!;
  checkVerb(c, `${at}.${verb}`, verb, action[verb]);
}

function checkName(c: Check, at: string, name: unknown, firstUse: Map<string, string>): void {
  if (name === undefined || name === null || name === "") return c.fail(at, "is required");
  if (typeof name !== "string" || !dnsLabel.test(name)) {
    return c.fail(at, `${JSON.stringify(name)} is not a DNS label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`);
  }
  const earlier = firstUse.get(name);
  if (earlier) return c.fail(at, `"${name}" is already the name of ${earlier}: names are unique within a stage, across pre, post and onFailure`);
  firstUse.set(name, at.replace(/\.name$/, ""));
}
