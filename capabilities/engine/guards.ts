// The leader's checks of a spec before it fetches or applies anything; a replica that follows
// applies them too, so it fetches nothing the leader would refuse to.
import { Reason, StageSetError } from "../api";
import { describeProblems, validateStageSet } from "../admission";
import type { Run } from "./run";

/** The admission webhook's checks, again: a spec that slipped past it stalls with InvalidSpec. */
export function validateSpec(run: Run): void {
  const problems = validateStageSet(run.ss);
  if (problems.length === 0) return;
  const stage = /^spec\.stages\[(\d+)\]/.exec(problems[0]!.path)?.[1];
  run.stage = stage === undefined ? undefined : run.stageNames[Number(stage)];
  throw new StageSetError(Reason.InvalidSpec, describeProblems(problems), true);
}

/** Lockdown: with cross-namespace references refused, a sourceRef or a dependsOn entry into another namespace stalls the StageSet. */
export function refuseCrossNamespaceRefs(run: Run): void {
  if (!run.deps.noCrossNamespaceRefs) return;
  const d = (run.ss.spec?.dependsOn ?? []).findIndex(ref => ref.namespace && ref.namespace !== run.key.namespace);
  if (d >= 0) throw new StageSetError(Reason.CrossNamespaceRefForbidden, `spec.dependsOn[${d}].namespace ${run.ss.spec!.dependsOn![d]!.namespace} is another namespace, and this controller refuses cross-namespace references (STAGESET_NO_CROSS_NAMESPACE_REFS)`, true);
  const i = run.stages.findIndex(s => s.sourceRef?.namespace && s.sourceRef.namespace !== run.key.namespace);
  if (i < 0) return;
  const stage = run.stages[i]!;
  run.stage = stage.name;
  throw new StageSetError(Reason.CrossNamespaceRefForbidden, `stage ${stage.name}: spec.stages[${i}].sourceRef.namespace ${stage.sourceRef.namespace} is another namespace, and this controller refuses cross-namespace references (STAGESET_NO_CROSS_NAMESPACE_REFS)`, true);
}
