// CEL health expressions (readyChecks.exprs) with the semantics of Flux's healthCheckExprs
// (research/contracts.md §5): compiled once when the StageSet is read, then evaluated for
// every object of the matching group and kind on every poll.
import { Environment, type ParseResult } from "@marcbachmann/cel-js";
import { Reason, StageSetError, type HealthExpr } from "../api";
import { celBudget, celCost, celShape, largestCollection, type CelShape } from "./cel-cost";
import { unsafeRegex } from "./cel-guard";
import { callsMatches, re2Function, re2Matches, withLinearRegex } from "./cel-regex";
import { groupKindKey, isObj, kindOf, type Obj } from "./fields";
import { generationNotObservedTolerant } from "./generation";
import { current, failed, inProgress, unknown, type Health } from "./health";

export type ExprField = "inProgress" | "failed" | "current";

/** An expression that cannot be used: terminal (Stalled) until the StageSet changes. */
export class InvalidCELError extends StageSetError {
  constructor(
    readonly index: number,
    readonly apiVersion: string,
    readonly kind: string,
    readonly field: ExprField | "apiVersion" | "kind",
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(Reason.InvalidCELExpression, `readyChecks.exprs[${index}] (${apiVersion} ${kind}) ${field}: ${detail}`, true, options);
  }
}

interface CompiledCheck {
  field: ExprField;
  source: string;
  run: ParseResult;
  shape: CelShape;
}

/** Compiled exprs by `group/Kind` (the version is ignored, as in Flux). Build with compileExprs. */
export interface CompiledExprs {
  readonly byGroupKind: ReadonlyMap<string, { readonly checks: readonly CompiledCheck[] }>;
}

// Flux's environment minus ext.Sets/ext.Encoders, which the library lacks (contracts.md §8.4).
// Variables are dyn: like Flux we only parse against the object's top-level fields, since
// custom resources need not have spec or status.
// The limits keep one expression's size, and so the cost bound's factors, small.
const env = new Environment({ unlistedVariablesAreDyn: true, enableOptionalTypes: true, homogeneousAggregateLiterals: true, limits: { maxAstNodes: 1_000, maxDepth: 50, maxListElements: 256, maxMapEntries: 256 } });
env.registerFunction(`string.${re2Function}(string): bool`, re2Matches);

// RFC-0009 order: the first expression that is true decides.
const order: readonly ExprField[] = ["inProgress", "failed", "current"];

/** Compiles every expression; throws InvalidCELError naming the first one that cannot be used. */
export function compileExprs(exprs: readonly HealthExpr[]): CompiledExprs {
  const byGroupKind = new Map<string, { checks: CompiledCheck[] }>();
  const firstIndex = new Map<string, number>();
  exprs.forEach((e, index) => {
    const checks = compileEntry(e, index);
    const key = groupKindKey(e);
    const earlier = firstIndex.get(key);
    if (earlier !== undefined) throw invalidAt(e, index, "kind", `duplicates readyChecks.exprs[${earlier}]: one entry per group and kind`);
    firstIndex.set(key, index);
    byGroupKind.set(key, { checks });
  });
  return { byGroupKind };
}

function invalidAt(e: HealthExpr, index: number, field: InvalidCELError["field"], detail: string, cause?: unknown): InvalidCELError {
  return new InvalidCELError(index, String(e.apiVersion), String(e.kind), field, detail, { cause });
}

// The spec arrives from the API server, so types are checked again, not trusted.
function compileEntry(e: HealthExpr, index: number): CompiledCheck[] {
  if (typeof e.apiVersion !== "string" || e.apiVersion === "") throw invalidAt(e, index, "apiVersion", "must be set");
  if (typeof e.kind !== "string" || e.kind === "") throw invalidAt(e, index, "kind", "must be set");
  if (typeof e.current !== "string" || e.current.trim() === "") throw invalidAt(e, index, "current", "must be set");
  return order.flatMap(field => {
    const source: unknown = e[field];
    if (source === undefined || source === "") return [];
    if (typeof source !== "string") throw invalidAt(e, index, field, "must be a string");
    try {
      const run = compileOne(source);
      return [{ field, source, run, shape: celShape(run.ast) }];
    } catch (err) {
      throw invalidAt(e, index, field, err instanceof Error ? err.message : String(err), err);
    }
  });
}

function compileOne(source: string): ParseResult {
  let run: ParseResult;
  try {
    run = env.parse(source);
  } catch (e) {
    throw new Error(`does not parse: ${(e as Error).message}`, { cause: e }); // the message has a caret under the fault
  }
  const checked = run.check();
  if (!checked.valid) throw new Error(`does not type-check: ${checked.error?.message ?? "unknown error"}`, { cause: checked.error });
  // dyn passes: `status.ready` may well be a bool at run time; evaluate() checks the value.
  if (checked.type !== "bool" && checked.type !== "dyn") throw new Error(`must evaluate to a bool, but its type is ${checked.type}`);
  const regex = unsafeRegex(run.ast);
  if (regex) throw new Error(regex);
  // matches() runs on RE2 (linear time), never on JavaScript's backtracking RegExp.
  const linear = withLinearRegex(source, run.ast);
  if (linear === source) return run;
  const rewritten = env.parse(linear);
  // Belt and braces: nothing of JavaScript's RegExp may be left to run.
  if (callsMatches(rewritten.ast)) throw new Error("cannot rewrite every matches() call");
  return rewritten;
}

/** Whether the compiled exprs have an entry for the object's group and kind (CEL may read any of its fields). */
export function hasExprFor(compiled: CompiledExprs | undefined, obj: object): boolean {
  return compiled?.byGroupKind.has(groupKindKey(obj as Obj)) ?? false;
}

/**
 * The health of `obj` by the entry for its group and kind, or undefined when none matches.
 * As in Flux: a spec the controller has not observed yet → InProgress; then inProgress,
 * failed, current in that order, the first true one deciding; none true → InProgress.
 * Evaluation errors (a missing field, say) give Unknown: the caller keeps waiting. An
 * evaluation whose cost bound is over the budget is not started (Unknown, CELTooCostly).
 */
export function evaluate(compiled: CompiledExprs, obj: object): Health | undefined {
  const o = obj as Obj;
  const entry = compiled.byGroupKind.get(groupKindKey(o));
  if (!entry) return undefined;
  const stale = generationNotObservedTolerant(o);
  if (stale) return stale;
  const context = celValues(o) as Record<string, unknown>;
  const largest = entry.checks.some(c => c.shape.depth > 0) ? largestCollection(o) : 0;
  for (const check of entry.checks) {
    const cost = celCost(check.shape, largest);
    if (cost > celBudget) {
      return unknown("CELTooCostly", `${kindOf(o)}: ${check.field} expression could take ${cost.toExponential(1)} steps on this object (comprehensions nested ${check.shape.depth} deep, over collections of up to ${largest} items); at most ${celBudget.toExponential(0)} are allowed: ${check.source}`);
    }
    const result = run(check, context);
    if (typeof result !== "boolean") return unknown("CELEvaluationFailed", `${kindOf(o)}: ${check.field} expression ${result.error}`);
    if (result) return outcome(kindOf(o), check);
  }
  const currentSource = entry.checks.find(c => c.field === "current")?.source ?? "";
  return inProgress("CELNotCurrent", `${kindOf(o)}: current expression is false: ${currentSource}`);
}

function run(check: CompiledCheck, context: Record<string, unknown>): boolean | { error: string } {
  let value: unknown;
  try {
    value = check.run(context);
  } catch (e) {
    return { error: `failed: ${errorSummary(e)}: ${check.source}` };
  }
  return typeof value === "boolean" ? value : { error: `returned ${typeof value}, not a bool: ${check.source}` };
}

// The library's message repeats the expression with a caret over several lines; a health
// message is one line, so use the summary and add the expression once.
function errorSummary(e: unknown): string {
  const summary = isObj(e) && typeof e.summary === "string" ? e.summary : e instanceof Error ? e.message : String(e);
  const code = isObj(e) ? e.code : undefined;
  return code === "no_such_key" || code === "unknown_variable" ? `${summary} (guard optional fields with has())` : summary;
}

function outcome(kind: string, check: CompiledCheck): Health {
  const message = `${kind}: ${check.field} expression is true: ${check.source}`;
  if (check.field === "inProgress") return inProgress("CELInProgress", message);
  if (check.field === "failed") return failed("CELFailed", message);
  return current(message);
}

/**
 * cel-go sees JSON whole numbers in Kubernetes objects as int, but a JS number is a CEL
 * double, so `spec.replicas + 1` would fail. Whole numbers become BigInt (contracts.md §8.1).
 */
function celValues(v: unknown): unknown {
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(celValues);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, celValues(x)]));
  return v;
}
