// kstatus for one object (compute) and for a set (aggregate), computed from the object's own
// fields only: nothing is fetched. Re-implements cli-utils pkg/kstatus/status (contracts.md §3).
import { conditionsOf, FieldError, groupKindKey, kindOf, strictString, type Obj } from "./fields";
import { generationNotObserved } from "./generation";
import { current, failed, inProgress, terminating, unknown, type Health, type ObjectStatus } from "./health";
import { earlyRules, rules, type RuleContext } from "./rules";

export type ComputeOptions = RuleContext;

/**
 * The health of one object. The decision order (research/contracts.md §3.2):
 *  1. metadata.deletionTimestamp set → Terminating.
 *  2. A kind whose status breaks the generic checks (argoproj.io/Rollout) → its rule, final.
 *  3. metadata.generation ≠ status.observedGeneration, both set → InProgress.
 *  4. The first Reconciling=True or Stalled=True condition → InProgress or Failed.
 *  5. The kind's rule (rules.ts), final.
 *  6. The first Ready condition: True → Current; False or Unknown → InProgress.
 *  7. Current: a kind without rule or conditions is assumed reconciled.
 * Never throws: a field of the wrong type gives Unknown, naming the field.
 */
export function compute(obj: object, opts: ComputeOptions = {}): Health {
  const o = obj as Obj;
  try {
    const key = groupKindKey(o);
    return (
      deleting(o) ??
      earlyRules.get(key)?.(o, opts) ??
      generationNotObserved(o) ??
      ownConditions(o) ??
      rules.get(key)?.(o, opts) ??
      readyCondition(o) ??
      current("Resource is current")
    );
  } catch (e) {
    if (e instanceof FieldError) return unknown("InvalidField", `${kindOf(o)}: ${e.message}`);
    return unknown("ComputeFailed", `${kindOf(o)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function deleting(o: Obj): Health | undefined {
  return strictString(o, "metadata.deletionTimestamp") ? terminating("Resource scheduled for deletion") : undefined;
}

// The kstatus conditions (generic.go): whichever of the two comes first in the list wins.
function ownConditions(o: Obj): Health | undefined {
  for (const c of conditionsOf(o)) {
    if (c.status !== "True") continue;
    if (c.type === "Reconciling") return inProgress(c.reason || "Reconciling", c.message || "Reconciling=True");
    if (c.type === "Stalled") return failed(c.reason || "Stalled", c.message || "Stalled=True");
  }
  return undefined;
}

// Widely used although not a Kubernetes convention (status.go checkReadyCondition). A status
// other than True, False or Unknown is ignored, as upstream does.
function readyCondition(o: Obj): Health | undefined {
  const ready = conditionsOf(o).find(c => c.type === "Ready" && ["True", "False", "Unknown"].includes(c.status));
  if (!ready) return undefined;
  if (ready.status === "True") return current("Resource is Ready");
  return inProgress(ready.reason || "NotReady", ready.message || `Ready=${ready.status}`);
}

/**
 * The status of a set (cli-utils pkg/kstatus/polling/aggregator): any Failed → Failed; else
 * any Unknown → Unknown; else all `desired` → `desired`; else InProgress. Empty → `desired`.
 */
export function aggregate(healths: readonly { status: ObjectStatus }[], desired: ObjectStatus = "Current"): ObjectStatus {
  if (healths.some(h => h.status === "Failed")) return "Failed";
  if (healths.some(h => h.status === "Unknown")) return "Unknown";
  return healths.every(h => h.status === desired) ? desired : "InProgress";
}
