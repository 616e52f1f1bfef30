// Text diffs of objects: a line-based unified diff (Myers, as `diff -u` prints it) and the
// YAML form an object is compared in, with server bookkeeping dropped and Secret values masked.
// Pure.
import { stringify } from "yaml";

type Op = { kind: " " | "-" | "+"; line: string };

export interface DiffLimits {
  /** Lines of context around each change. */
  context: number;
  /** Edits searched for before giving up on a minimal diff and replacing the whole text. */
  maxEdits: number;
}

const defaults: DiffLimits = { context: 3, maxEdits: 2_000 };

/** `--- live` / `+++ merged` and its hunks; empty when the texts are equal. */
export function unifiedDiff(before: string, after: string, limits: Partial<DiffLimits> = {}): string {
  if (before === after) return "";
  const context = limits.context ?? defaults.context;
  const maxEdits = limits.maxEdits ?? defaults.maxEdits;
  const a = lines(before);
  const b = lines(after);
  const ops = editScript(a, b, maxEdits) ?? [...a.map(line => ({ kind: "-" as const, line })), ...b.map(line => ({ kind: "+" as const, line }))];
  return ["--- live", "+++ merged", ...hunks(ops, context)].join("\n") + "\n";
}

function lines(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

/**
 * The shortest edit script (Myers 1986, "An O(ND) Difference Algorithm"): O((n+m)·d) time and
 * O(d²) memory for the trace. Undefined beyond maxEdits, so a rewritten object costs a bounded
 * search and then shows as replaced. The common prefix and suffix are taken off first.
 */
export function editScript(a: string[], b: string[], maxEdits: number): Op[] | undefined {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const middle = myers(x, y, maxEdits);
  if (!middle) return undefined;
  const same = (line: string): Op => ({ kind: " ", line });
  return [...a.slice(0, head).map(same), ...middle, ...a.slice(a.length - tail).map(same)];
}

function myers(a: string[], b: string[], maxEdits: number): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const offset = n + m + 1;
  const v = new Int32Array(2 * offset + 1);
  // trace[d] holds v[-d..d] as it was before step d: enough to walk back from the end.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(n + m, maxEdits); d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, d);
    }
  }
  return undefined;
}

function backtrack(a: string[], b: string[], trace: Int32Array[], depth: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = depth; d > 0; d--) {
    const at = (k: number) => trace[d]![k + d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      y--;
      ops.push({ kind: " ", line: a[--x]! });
    }
    if (x === prevX) ops.push({ kind: "+", line: b[--y]! });
    else ops.push({ kind: "-", line: a[--x]! });
  }
  while (x > 0) ops.push({ kind: " ", line: a[--x]! });
  return ops.reverse();
}

/** Hunks with `context` lines around each run of changes; runs at most 2·context apart share one. */
function hunks(ops: Op[], context: number): string[] {
  const changed = ops.flatMap((op, i) => (op.kind === " " ? [] : [i]));
  const out: string[] = [];
  let i = 0;
  while (i < changed.length) {
    const start = Math.max(0, changed[i]! - context);
    let end = changed[i]!;
    while (i + 1 < changed.length && changed[i + 1]! - end - 1 <= 2 * context) end = changed[++i]!;
    i++;
    const stop = Math.min(ops.length, end + context + 1);
    out.push(hunkHeader(ops, start, stop), ...ops.slice(start, stop).map(op => op.kind + op.line));
  }
  return out;
}

/** `@@ -l,s +l,s @@` as GNU diff writes it: `,1` left out, an empty side numbered by the line before it. */
function hunkHeader(ops: Op[], start: number, stop: number): string {
  const before = ops.slice(0, start);
  const inside = ops.slice(start, stop);
  const range = (skip: Op["kind"]) => {
    const first = before.filter(op => op.kind !== skip).length;
    const count = inside.filter(op => op.kind !== skip).length;
    const line = count === 0 ? first : first + 1;
    return count === 1 ? `${line}` : `${line},${count}`;
  };
  return `@@ -${range("+")} +${range("-")} @@`;
}

/**
 * The object as it is compared: YAML with every map's keys sorted (as kubectl diff prints,
 * through JSON), without what the API server writes on its own and no apply decides:
 * managedFields (kubectl diff drops them too), resourceVersion, generation, uid,
 * creationTimestamp and selfLink (a dry-run create invents them; an update moves them with
 * any change), and status (apply never writes it where there is a status subresource, and a
 * controller may update it between our read and the dry-run). Empty for no object.
 */
export function objectForDiff(obj: Record<string, unknown> | undefined): string {
  if (!obj) return "";
  const { status: _status, ...rest } = structuredClone(obj);
  const metadata = rest.metadata as Record<string, unknown> | undefined;
  if (metadata) {
    for (const field of ["managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"]) delete metadata[field];
  }
  return stringify(rest, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false });
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * Secret values replaced as kubectl diff does (its Masker, kubectl/pkg/cmd/diff/diff.go): `***`,
 * or `*** (before)` / `*** (after)` where a key's value changes, so a diff shows which keys
 * change and never what they hold. stringData too, which a manifest shown as-is may carry.
 */
export function maskSecrets<T extends Record<string, unknown>>(before: T | undefined, after: T | undefined): [T | undefined, T | undefined] {
  const isSecret = (o: T | undefined) => o?.apiVersion === "v1" && o.kind === "Secret";
  if (!isSecret(before) && !isSecret(after)) return [before, after];
  const from = before && structuredClone(before);
  const to = after && structuredClone(after);
  for (const field of ["data", "stringData"]) {
    const f = from?.[field] as Record<string, unknown> | undefined;
    const t = to?.[field] as Record<string, unknown> | undefined;
    for (const key of Object.keys(f ?? {})) {
      const changed = t && key in t && t[key] !== f![key];
      f![key] = changed ? "*** (before)" : "***";
      if (t && key in t) t[key] = changed ? "*** (after)" : "***";
    }
    for (const key of Object.keys(t ?? {})) if (!f || !(key in f)) t![key] = "***";
  }
  // kubectl apply keeps the whole Secret, values included, in this annotation.
  for (const o of [from, to]) {
    const annotations = (o?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
    if (annotations?.[lastApplied] !== undefined) annotations[lastApplied] = "***";
  }
  return [from, to];
}

/** The unified diff of one object from live to merged (either may be absent), Secrets masked. */
export function objectDiff(live: Record<string, unknown> | undefined, merged: Record<string, unknown> | undefined, limits?: Partial<DiffLimits>): string {
  const [from, to] = maskSecrets(live, merged);
  return unifiedDiff(objectForDiff(from), objectForDiff(to), limits);
}
