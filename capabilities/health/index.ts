// Health of applied objects: kstatus rules per kind, and CEL expressions that replace them
// for the kinds a stage names in readyChecks.exprs. Pure: objects in, statuses out.
import { evaluate, type CompiledExprs } from "./cel";
import { compute, type ComputeOptions } from "./kstatus";
import type { Health } from "./health";

export type { Health, HealthStatus, ObjectStatus } from "./health";
export { compute, aggregate, type ComputeOptions } from "./kstatus";
export { compileExprs, evaluate, hasExprFor, InvalidCELError, type CompiledExprs, type ExprField } from "./cel";

/** The object's health by its CEL entry when `compiled` has one for its kind, else by kstatus. */
export function objectHealth(obj: object, compiled?: CompiledExprs, opts: ComputeOptions = {}): Health {
  return (compiled && evaluate(compiled, obj)) ?? compute(obj, opts);
}
export { applySnapshot, needsApplySnapshot, statusUnchangedSinceApply, type ApplySnapshot } from "./generation";

/**
 * What kstatus rules read of an object (apiVersion, kind, spec, status, and metadata's name,
 * namespace, generation, resourceVersion and timestamps): a watch cache of thousands of
 * objects keeps this, not their data, labels or annotations, unless a CEL entry needs them.
 */
export function kstatusView<T extends { metadata?: Record<string, unknown> }>(o: T): T {
  const m = o.metadata ?? {};
  const { apiVersion, kind, spec, status } = o as Record<string, unknown>;
  const metadata = { name: m.name, namespace: m.namespace, generation: m.generation, resourceVersion: m.resourceVersion, deletionTimestamp: m.deletionTimestamp, creationTimestamp: m.creationTimestamp };
  return { apiVersion, kind, metadata, ...(spec === undefined ? {} : { spec }), ...(status === undefined ? {} : { status }) } as unknown as T;
}
