// Has the controller seen the latest spec? metadata.generation against
// status.observedGeneration, in the two flavours the callers need.
import { intField, kindOf, strictInt, valueAt, type Obj } from "./fields";
import { inProgress, type Health } from "./health";

function notObserved(o: Obj, generation: number, observed: number): Health {
  const message = `${kindOf(o)} generation is ${generation}, but latest observed generation is ${observed}`;
  return inProgress("LatestGenerationNotObserved", message);
}

/**
 * kstatus's checkGeneration (cli-utils pkg/kstatus/status/generic.go): compared only when
 * both fields are set. A non-integer is an error upstream, here a FieldError (Unknown).
 */
export function generationNotObserved(o: Obj): Health | undefined {
  const generation = strictInt(o, "metadata.generation");
  if (generation === undefined) return undefined;
  const observed = strictInt(o, "status.observedGeneration");
  return observed !== undefined && observed !== generation ? notObserved(o, generation, observed) : undefined;
}

/**
 * The tolerant check for CEL entries and Argo Rollouts. Integers compare as in Flux's CEL
 * reader (fluxcd/pkg runtime/cel/status_evaluator.go). Argo Rollouts writes observedGeneration
 * as a string (argo-rollouts#4672), which makes Flux's reader error forever; we read a numeric
 * string as Argo's own isGenerationObserved does (utils/rollout/rolloututil.go): behind only
 * when smaller, because old Rollouts stored a hash there. Anything else skips the check.
 */
export function generationNotObservedTolerant(o: Obj): Health | undefined {
  const generation = intField(o, "metadata.generation", -1);
  if (generation < 0) return undefined;
  const observed = valueAt(o, "status.observedGeneration");
  if (typeof observed === "number" && Number.isInteger(observed)) {
    return observed !== generation ? notObserved(o, generation, observed) : undefined;
  }
  if (typeof observed === "string" && /^[0-9]{1,15}$/.test(observed)) {
    return Number(observed) < generation ? notObserved(o, generation, Number(observed)) : undefined;
  }
  return undefined;
}

/** What an object looked like right after an apply of ours gave it a new generation. */
export interface ApplySnapshot {
  generation: number;
  /** JSON of status as the apply returned it. */
  status: string;
}

/** A snapshot worth keeping: the object reports observedGeneration in a form we cannot compare. */
export function needsApplySnapshot(o: Obj): boolean {
  const observed = valueAt(o, "status.observedGeneration");
  return typeof observed === "string" && !/^[0-9]{1,15}$/.test(observed);
}

export function applySnapshot(o: Obj): ApplySnapshot {
  return { generation: intField(o, "metadata.generation", -1), status: JSON.stringify(valueAt(o, "status") ?? null) };
}

/**
 * An object whose observedGeneration cannot be compared (older Argo Rollouts write a hash
 * there) has not observed the generation our apply made while its status is exactly what the
 * apply returned: that status describes the previous spec, however healthy it looks.
 */
export function statusUnchangedSinceApply(o: Obj, snapshot: ApplySnapshot | undefined): Health | undefined {
  if (!snapshot || intField(o, "metadata.generation", -1) !== snapshot.generation) return undefined;
  if (JSON.stringify(valueAt(o, "status") ?? null) !== snapshot.status) return undefined;
  const observed = JSON.stringify(valueAt(o, "status.observedGeneration"));
  return inProgress("LatestGenerationNotObserved", `${kindOf(o)} status has not changed since generation ${snapshot.generation} was applied (status.observedGeneration ${observed} is not a number to compare)`);
}
