// Reading unstructured objects as kstatus does (cli-utils pkg/kstatus/status/util.go): lenient
// readers fall back to an explicit default (GetIntField); strict ones throw a FieldError where
// upstream's NestedInt64/FromUnstructured return an error, and compute() reports Unknown.

export type Obj = Readonly<Record<string, unknown>>;

/** A field holds a value of the wrong type, so no status can be computed from it. */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path} ${detail}`);
    this.name = "FieldError";
  }
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `string "3"`, `number 3.5`, `array`: how a wrong value is named in a message. */
export function describeValue(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  if (typeof v === "number" || typeof v === "boolean") return `${typeof v} ${String(v)}`;
  return typeof v === "object" ? "an object" : typeof v;
}

type Walk = { value: unknown } | { notObject: string };

// JSON null is treated as absent: the API server never stores nulls, and it keeps
// hand-written fixtures from turning into Unknown.
function walk(obj: unknown, path: string): Walk {
  let cur: unknown = obj;
  const keys = path.split(".");
  for (let i = 0; i < keys.length; i++) {
    if (cur === undefined || cur === null) return { value: undefined };
    if (!isObj(cur)) return { notObject: keys.slice(0, i).join(".") };
    const key = keys[i] as string;
    cur = Object.hasOwn(cur, key) ? cur[key] : undefined;
  }
  return { value: cur === null ? undefined : cur };
}

/** The value at `path`, or undefined when it or a parent is absent or not an object. */
export function valueAt(obj: unknown, path: string): unknown {
  const w = walk(obj, path);
  return "value" in w ? w.value : undefined;
}

/** The value at `path`, or undefined when absent; throws FieldError when a parent is not an object. */
export function fieldAt(obj: unknown, path: string): unknown {
  const w = walk(obj, path);
  if ("notObject" in w) {
    const got = w.notObject ? valueAt(obj, w.notObject) : obj;
    throw new FieldError(w.notObject || "the object", `must be an object, got ${describeValue(got)}`);
  }
  return w.value;
}

/** GetIntField: an integer, or `dflt` when absent or not an integer (3.5 and "3" give the default). */
export function intField(obj: unknown, path: string, dflt: number): number {
  const v = valueAt(obj, path);
  return typeof v === "number" && Number.isInteger(v) ? v : dflt;
}

/** GetStringField: a string, or `dflt` when absent or not a string. */
export function stringField(obj: unknown, path: string, dflt: string): string {
  const v = valueAt(obj, path);
  return typeof v === "string" ? v : dflt;
}

/** GetBoolField: a boolean, or `dflt` when absent or not a boolean. */
export function boolField(obj: unknown, path: string, dflt: boolean): boolean {
  const v = valueAt(obj, path);
  return typeof v === "boolean" ? v : dflt;
}

/** NestedInt64: an integer or undefined when absent; any other value is a FieldError. */
export function strictInt(obj: unknown, path: string): number | undefined {
  const v = fieldAt(obj, path);
  if (v === undefined || (typeof v === "number" && Number.isInteger(v))) return v;
  throw new FieldError(path, `must be an integer, got ${describeValue(v)}`);
}

/** NestedString: a string or undefined when absent; any other value is a FieldError (named `label`). */
export function strictString(obj: unknown, path: string, label = path): string | undefined {
  const v = fieldAt(obj, path);
  if (v === undefined || typeof v === "string") return v;
  throw new FieldError(label, `must be a string, got ${describeValue(v)}`);
}

/** NestedSlice: an array (empty when absent); any other value is a FieldError. */
export function strictList(obj: unknown, path: string): readonly unknown[] {
  const v = fieldAt(obj, path);
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  throw new FieldError(path, `must be a list, got ${describeValue(v)}`);
}

/**
 * status.conditions, as GetObjectWithConditions decodes them: a malformed list or a
 * condition field of the wrong type is an error, missing fields are empty strings.
 */
export function conditionsOf(obj: unknown): Condition[] {
  return strictList(obj, "status.conditions").flatMap((c, i) => {
    if (c === null) return [];
    const path = `status.conditions[${i}]`;
    if (!isObj(c)) throw new FieldError(path, `must be an object, got ${describeValue(c)}`);
    const text = (key: string) => strictString(c, key, `${path}.${key}`) ?? "";
    return [{ type: text("type"), status: text("status"), reason: text("reason"), message: text("message") }];
  });
}

/** The first condition of `type` with `status`, as kstatus's getConditionWithStatus. */
export function conditionWith(conditions: readonly Condition[], type: string, status: string): Condition | undefined {
  return conditions.find(c => c.type === type && c.status === status);
}

/** `group/Kind`, or `Kind` for the core group: the key of kstatus's rule table. */
export function groupKindKey(obj: unknown): string {
  const apiVersion = stringField(obj, "apiVersion", "");
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const kind = stringField(obj, "kind", "");
  return group ? `${group}/${kind}` : kind;
}

/** The kind for messages; kstatus writes `<Kind> generation is …`. */
export function kindOf(obj: unknown): string {
  return stringField(obj, "kind", "") || "Resource";
}
