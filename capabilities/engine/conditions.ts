// The one place conditions are written (STYLE R4): observedGeneration stamped, messages
// trimmed, lastTransitionTime moved only when the status flips, and Reconciling and
// Stalled present only when True and never together.
import { ConditionType, type Condition, type ConditionStatus } from "../api";

const maxMessage = 32 * 1024;

export function setCondition(
  conditions: Condition[] | undefined,
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  generation: number | undefined,
  now: string,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex(c => c.type === type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type,
    status,
    reason,
    message: message.length > maxMessage ? `${message.slice(0, maxMessage - 15)} ...(truncated)` : message,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter(c => c.type !== type);
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find(c => c.type === type);
}

/** kstatus: a run under way. Ready is Unknown while reconciling, and Stalled goes away. */
export function markReconciling(c: Condition[] | undefined, reason: string, message: string, gen: number | undefined, now: string): Condition[] {
  let list = setCondition(c, ConditionType.Reconciling, "True", reason, message, gen, now);
  list = removeCondition(list, ConditionType.Stalled);
  return setCondition(list, ConditionType.Ready, "Unknown", reason, message, gen, now);
}

/** A run that succeeded. */
export function markReady(c: Condition[] | undefined, reason: string, message: string, gen: number | undefined, now: string): Condition[] {
  const list = removeCondition(removeCondition(c, ConditionType.Reconciling), ConditionType.Stalled);
  return setCondition(list, ConditionType.Ready, "True", reason, message, gen, now);
}

/** A failure: retried (Reconciling stays) or terminal (Stalled until the input changes). */
export function markFailed(c: Condition[] | undefined, reason: string, message: string, terminal: boolean, gen: number | undefined, now: string): Condition[] {
  let list = setCondition(c, ConditionType.Ready, "False", reason, message, gen, now);
  if (terminal) {
    list = removeCondition(list, ConditionType.Reconciling);
    return setCondition(list, ConditionType.Stalled, "True", reason, message, gen, now);
  }
  list = removeCondition(list, ConditionType.Stalled);
  return setCondition(list, ConditionType.Reconciling, "True", "ProgressingWithRetry", message, gen, now);
}

/** A finished run whose result no longer holds (a verified stage degraded): not Ready, nothing in progress. */
export function markNotReady(c: Condition[] | undefined, reason: string, message: string, gen: number | undefined, now: string): Condition[] {
  const list = removeCondition(removeCondition(c, ConditionType.Reconciling), ConditionType.Stalled);
  return setCondition(list, ConditionType.Ready, "False", reason, message, gen, now);
}

/** A run that waits for something outside it (a dependency, a window): not Ready, and in progress (kstatus InProgress), not stalled. */
export function markWaiting(c: Condition[] | undefined, reason: string, message: string, gen: number | undefined, now: string): Condition[] {
  let list = removeCondition(c, ConditionType.Stalled);
  list = setCondition(list, ConditionType.Reconciling, "True", reason, message, gen, now);
  return setCondition(list, ConditionType.Ready, "False", reason, message, gen, now);
}
