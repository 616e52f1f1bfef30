// The one definition of "this stage is Ready" that the gate, the gauge and the tests share.
// A stage is Ready iff all of:
//   (a) the StageSet's current generation has been verified through this stage
//       (status.stages[].verifiedGeneration == metadata.generation), and nothing newer was
//       tried on it since, nor did a later attempt fail;
//   (b) the stage's applied artifact (revision and digest) is the one its source publishes now;
//   (c) every object of the stage is healthy now (followed live from watches; a stage the
//       controller does not follow yet, as just after a restart, has no verdict: not Ready);
//   (d) the StageSet is not being deleted.
// A run re-applying the same generation and artifact (a resync) breaks none of these, so it
// never closes the gate while the objects stay healthy.
import type { StageStatus } from "./stageset";

export interface PublishedArtifact {
  revision: string;
  digest: string;
}

export interface ReadinessFacts {
  generation: number | undefined;
  deleting: boolean;
  stage: StageStatus | undefined;
  /**
   * What the stage's source publishes now: an artifact, "none" (the source is gone or has no
   * artifact), or undefined when the controller does not know (its watch of that source kind
   * has not listed yet, as just after a restart, or may not list it): not Ready then, since
   * (b) cannot be shown.
   */
  published: PublishedArtifact | "none" | undefined;
  /**
   * Live health of the stage's objects, from watches; undefined when the controller does not
   * follow this stage at this verification (yet) or a watch has not listed: not Ready then,
   * since (c) cannot be shown. A stage with `readyChecks.disableWait` is never judged on
   * health: the caller passes true for it.
   */
  healthy: boolean | undefined;
}

export function isStageReady(f: ReadinessFacts): boolean {
  const st = f.stage;
  if (f.deleting || !st || f.generation === undefined) return false;
  if (st.verifiedGeneration !== f.generation || !st.appliedRevision || !st.appliedDigest) return false;
  // A newer artifact was tried since (its objects may be in the cluster now), or the last
  // attempt failed: what was verified no longer describes the stage.
  if (st.attemptedRevision !== st.appliedRevision || st.attemptedDigest !== st.appliedDigest || st.phase === "Failed") return false;
  const artifact = f.published;
  if (artifact === undefined || artifact === "none" || artifact.revision !== st.appliedRevision || artifact.digest !== st.appliedDigest) return false;
  return f.healthy === true;
}
