// The built-in Argo Rollout rule. Argo writes status.observedGeneration as a string
// (argo-rollouts#4672): that must never make a Rollout Unknown or keep it waiting.
import { describe, it } from "vitest";
import { checkRow as check, type Row } from "./testdata/rows";

const rollout = (generation: string, status: string) =>
  `apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web${generation}}\nstatus: {${status}}`;

describe("argoproj.io Rollout", () => {
  it.each<Row>([
    { name: 'string observedGeneration "3", Healthy', yaml: rollout(", generation: 3", "observedGeneration: '3', phase: Healthy"), status: "Current", reason: undefined, message: "Rollout is Healthy" },
    { name: "Degraded", yaml: rollout(", generation: 3", "observedGeneration: '3', phase: Degraded, message: 'ProgressDeadlineExceeded: timed out'"), status: "Failed", reason: "RolloutDegraded", message: "Rollout is Degraded: ProgressDeadlineExceeded: timed out" },
    { name: "Paused", yaml: rollout(", generation: 3", "observedGeneration: '3', phase: Paused, message: CanaryPauseStep"), status: "InProgress", reason: "RolloutPaused", message: "Rollout is Paused: CanaryPauseStep" },
    { name: "Progressing", yaml: rollout(", generation: 3", "observedGeneration: '3', phase: Progressing"), status: "InProgress", reason: "RolloutProgressing" },
    { name: "no phase yet", yaml: rollout(", generation: 1", ""), status: "InProgress", reason: "RolloutPhaseNotObserved", message: "Rollout status.phase not set yet" },
    { name: "numeric string behind generation: the phase is stale", yaml: rollout(", generation: 4", "observedGeneration: '3', phase: Healthy"), status: "InProgress", reason: "LatestGenerationNotObserved", message: "Rollout generation is 4, but latest observed generation is 3" },
    { name: "integer observedGeneration behind generation", yaml: rollout(", generation: 4", "observedGeneration: 3, phase: Healthy"), status: "InProgress", reason: "LatestGenerationNotObserved" },
    { name: "pre-1.0 hash in observedGeneration is ignored", yaml: rollout(", generation: 4", "observedGeneration: 6d4f8c7b9, phase: Healthy"), status: "Current", reason: undefined },
    { name: "numeric hash above generation counts as observed (Argo's rule)", yaml: rollout(", generation: 4", "observedGeneration: '784512', phase: Healthy"), status: "Current", reason: undefined },
    { name: "fractional observedGeneration is ignored", yaml: rollout(", generation: 3", "observedGeneration: 2.5, phase: Healthy"), status: "Current", reason: undefined },
    { name: "no generation at all", yaml: rollout("", "observedGeneration: '1', phase: Healthy"), status: "Current", reason: undefined },
    { name: "unknown phase", yaml: rollout(", generation: 1", "phase: Exploded"), status: "Unknown", reason: "UnknownRolloutPhase", message: 'Rollout has unknown status.phase "Exploded"' },
    { name: "non-string phase", yaml: rollout(", generation: 1", "phase: 7"), status: "Unknown", reason: "InvalidField", message: "Rollout: status.phase must be a string, got number 7" },
    { name: "deletion still comes first", yaml: rollout(", generation: 1, deletionTimestamp: '2024-05-01T10:00:00Z'", "phase: Healthy"), status: "Terminating", reason: "Terminating" },
    { name: "version is ignored", yaml: rollout(", generation: 3", "observedGeneration: '3', phase: Healthy").replace("v1alpha1", "v1"), status: "Current", reason: undefined },
    { name: "a Rollout kind of another group gets kstatus's strict check", yaml: rollout(", generation: 3", "observedGeneration: '3', phase: Healthy").replace("argoproj.io", "example.com"), status: "Unknown", reason: "InvalidField", message: 'Rollout: status.observedGeneration must be an integer, got string "3"' },
  ])("$name", check);
});
