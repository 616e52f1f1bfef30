// Small helpers for validating a spec that arrives untyped: each problem is recorded at its
// field path so that one pass reports all of them.
import { parseDuration } from "../api";

export interface ActionSpecError {
  /** The stage the action belongs to. */
  stage: string;
  /** Field path, like spec.stages[2].actions.pre[0].http.url. */
  path: string;
  message: string;
}

export interface Check {
  readonly errors: ActionSpecError[];
  fail(path: string, message: string): void;
}

export function check(stage: string): Check {
  const errors: ActionSpecError[] = [];
  return { errors, fail: (path, message) => void errors.push({ stage, path, message }) };
}

/** "path: message", for a condition message or an event. */
export function formatSpecError(e: ActionSpecError): string {
  return `${e.path}: ${e.message}`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const present = (v: unknown) => v !== undefined && v !== null;

/** A non-empty string; records why not. */
export function requireString(c: Check, at: string, v: unknown): v is string {
  if (!present(v) || v === "") c.fail(at, "is required");
  else if (typeof v !== "string") c.fail(at, `must be a string, got ${JSON.stringify(v)}`);
  else return true;
  return false;
}

/** Optional, but a string when set. */
export function optionalString(c: Check, at: string, v: unknown): void {
  if (present(v) && typeof v !== "string") c.fail(at, `must be a string, got ${JSON.stringify(v)}`);
}

/** Exactly one of the two fields is set; records "neither" or "both" at `at`. Returns the one set. */
export function exactlyOne<K extends string>(c: Check, at: string, obj: Record<string, unknown>, a: K, b: K): K | undefined {
  const hasA = present(obj[a]);
  const hasB = present(obj[b]);
  if (hasA !== hasB) return hasA ? a : b;
  c.fail(at, hasA ? `set ${a} or ${b}, not both` : `set one of ${a} and ${b}`);
  return undefined;
}

/** One of the allowed words, spelled exactly (Kubernetes enums are case-sensitive). */
export function oneOf(c: Check, at: string, v: unknown, allowed: readonly string[]): void {
  if (!present(v)) c.fail(at, `is required: one of ${allowed.join(", ")}`);
  else if (typeof v !== "string" || !allowed.includes(v)) c.fail(at, `${JSON.stringify(v)} is not one of ${allowed.join(", ")}`);
}

/** A duration that parses and is more than zero. */
export function checkPositiveDuration(c: Check, at: string, value: unknown): void {
  const ms = typeof value === "string" ? parseDuration(value) : undefined;
  if (ms === undefined) return c.fail(at, `${JSON.stringify(value)} is not a duration (like "30s", "5m" or "1h30m")`);
  if (ms <= 0) c.fail(at, "must be more than zero");
}
