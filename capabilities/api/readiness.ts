// The one definition of "this stage is Ready" that the gate, the gauge and the tests share.
import type { StageSetStatus } from "./stageset";

/**
 * Ready means: the stage is Ready at the revision pinned for the current run, and the status
 * describes the current generation. A stage that was Ready at revision A while revision B
 * rolls out is not Ready, and neither is any stage right after a spec change.
 */
export function isStageReady(status: StageSetStatus | undefined, generation: number | undefined, stage: string): boolean {
  if (!status || generation === undefined || status.runGeneration !== generation || status.observedGeneration !== generation) return false;
  const st = status.stages?.find(s => s.name === stage);
  const pin = status.lastAttemptedRevisions?.[stage];
  return st?.phase === "Ready" && pin !== undefined && st.appliedRevision === pin;
}
