// Argo Rollouts' Rollout (argoproj.io): health from the phase its controller computes.
// Checked before kstatus's generation step, because Argo writes status.observedGeneration as
// a string (argo-rollouts#4672) and kstatus would call every Rollout Unknown.
import { stringField, strictString, type Obj } from "./fields";
import { generationNotObservedTolerant } from "./generation";
import { current, failed, inProgress, unknown, type Health } from "./health";

// Phases from argo-rollouts pkg/apis/rollouts/v1alpha1/types.go (RolloutPhase).
const phases: Record<string, (detail: string) => Health> = {
  Healthy: d => current(`Rollout is Healthy${d}`),
  Progressing: d => inProgress("RolloutProgressing", `Rollout is Progressing${d}`),
  Paused: d => inProgress("RolloutPaused", `Rollout is Paused${d}`),
  Degraded: d => failed("RolloutDegraded", `Rollout is Degraded${d}`),
};

export function rollout(o: Obj): Health {
  // A phase written before the controller saw the new spec describes the old one.
  const stale = generationNotObservedTolerant(o);
  if (stale) return stale;
  const phase = strictString(o, "status.phase");
  if (phase === undefined || phase === "") {
    return inProgress("RolloutPhaseNotObserved", "Rollout status.phase not set yet");
  }
  const message = stringField(o, "status.message", "");
  const rule = Object.hasOwn(phases, phase) ? phases[phase] : undefined;
  if (!rule) return unknown("UnknownRolloutPhase", `Rollout has unknown status.phase ${JSON.stringify(phase)}`);
  return rule(message ? `: ${message}` : "");
}
