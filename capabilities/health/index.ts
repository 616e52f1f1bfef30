// Health of applied objects: kstatus rules per kind, and CEL expressions that replace them
// for the kinds a stage names in readyChecks.exprs. Pure: objects in, statuses out.
import { evaluate, type CompiledExprs } from "./cel";
import { compute, type ComputeOptions } from "./kstatus";
import type { Health } from "./health";

export type { Health, HealthStatus, ObjectStatus } from "./health";
export { compute, aggregate, type ComputeOptions } from "./kstatus";
export { compileExprs, evaluate, InvalidCELError, type CompiledExprs, type ExprField } from "./cel";

/** The object's health by its CEL entry when `compiled` has one for its kind, else by kstatus. */
export function objectHealth(obj: object, compiled?: CompiledExprs, opts: ComputeOptions = {}): Health {
  return (compiled && evaluate(compiled, obj)) ?? compute(obj, opts);
}
export { applySnapshot, needsApplySnapshot, statusUnchangedSinceApply, type ApplySnapshot } from "./generation";
