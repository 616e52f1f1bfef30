// Live health in the status: a verified stage is followed from watches (live-health.ts); when
// one of its objects turns unhealthy the stage becomes Degraded and, once its run is over, the
// StageSet Ready=False with HealthDegraded naming the object; when they recover, Ready again,
// without a re-apply. One Event per transition, none while nothing changes.
import { Reason } from "../api";
import { objectId } from "../apply";
import { resourcePath } from "../kube";
import { verificationOf } from "../gate";
import { getCondition, markNotReady, markReady } from "./conditions";
import { isRunComplete, stageStatus } from "./plan";
import { nowISO, objectsReady, pinnedSummary, save, setStage, stageSpec, type Run } from "./run";
import { summarize } from "./stage-health";
import { soakInterrupted } from "./promotion";
import { recordTransition, type TransitionDetail } from "./notifications";
import type { Outcome } from "./queue";
import { stageObjects } from "./steps";

/**
 * Follow a verified stage's objects: as it is marked Ready (with the resourceVersions it was
 * verified at), or after a restart (without: no verdict until the watch has listed).
 */
export async function followStage(run: Run, stage: string, versions?: Map<string, string>): Promise<void> {
  const live = run.deps.liveHealth;
  const st = stageStatus(run.status, stage);
  if (!live || !st) return;
  if (stageSpec(run, stage).readyChecks?.disableWait) return void live.unfollow(run.key.namespace, run.key.name, s => s === stage);
  const followed = [];
  for (const object of await stageObjects(run, stage)) {
    const resource = await run.deps.discovery.resolve(object.apiVersion, object.kind);
    // A kind no longer served (its CRD deleted, an aggregated API down) hides its objects' health: followed as unhealthy.
    if (!resource) followed.push({ collection: "", object, unserved: `${object.apiVersion} ${object.kind}` });
    else followed.push({ collection: resourcePath(resource), path: resourcePath(resource, object.metadata?.namespace, object.metadata?.name), object, verifiedAt: versions?.get(objectId(object)) ?? (versions ? "" : undefined) });
  }
  live.follow(run.key.namespace, run.key.name, stage, verificationOf(st), followed, run.exprs.get(stage));
}

/** How soon a reconcile comes back for a verified stage it could not follow (its gate stays closed meanwhile). */
export const unfollowedRetryMs = 30_000;

/**
 * Follow every verified stage the controller does not follow yet (after a restart) from its
 * artifact, when that is still the one its source publishes. Until then the stage has no
 * live verdict, and its gate stays closed. A stage that cannot be followed now (its artifact
 * unreachable) is marked on the run, so the reconcile comes back soon rather than at the resync.
 */
export async function followVerified(run: Run): Promise<void> {
  const live = run.deps.liveHealth;
  if (!live) return;
  const { namespace, name } = run.key;
  for (const stage of run.stageNames) {
    const st = stageStatus(run.status, stage);
    if (!st || st.verifiedGeneration === undefined || (st.phase !== "Ready" && st.phase !== "Degraded")) continue;
    if (live.follows(namespace, name, stage, verificationOf(st)) || st.appliedDigest !== run.sources.get(stage)?.artifact.digest) continue;
    await followStage(run, stage).catch(err => {
      run.unfollowed = true;
      run.deps.log.warn({ namespace, stageset: name, stage, err: String(err) }, "cannot follow the stage's health yet: its gate stays closed until it can");
    });
  }
}

/** Bring the status in line with live health; saves and records Events only on a change. */
export async function syncLiveHealth(run: Run): Promise<void> {
  const live = run.deps.liveHealth;
  if (!live) return;
  const { namespace, name } = run.key;
  live.unfollow(namespace, name, stage => !run.stageNames.includes(stage));
  await followVerified(run);
  const events: [type: "Normal" | "Warning", reason: string, message: string, detail: TransitionDetail][] = [];
  let statusChanged = false;
  for (const stage of run.stageNames) {
    const st = stageStatus(run.status, stage);
    if (!st || st.verifiedGeneration === undefined || (st.phase !== "Ready" && st.phase !== "Degraded")) continue;
    const healthy = live.healthy(namespace, name, stage, verificationOf(st));
    const degraded = () => `Stage ${stage} revision ${st.appliedRevision} degraded: ${summarize(live.problems(namespace, name, stage))}`;
    if (healthy === false && st.phase === "Ready") {
      const message = degraded();
      // A degradation during the soak: the soak starts again once the stage recovers.
      const soakEndsAt = soakInterrupted(st.soakEndsAt, run.deps.now()) ? undefined : st.soakEndsAt;
      setStage(run, { ...st, phase: "Degraded", message, soakEndsAt });
      events.push(["Warning", Reason.HealthDegraded, message, { notify: "Degraded", stage, revision: st.appliedRevision }]);
    } else if (healthy === false && st.phase === "Degraded" && degraded() !== st.message) {
      // Still degraded, by other objects now: the status names them (one Event per degradation, though).
      setStage(run, { ...st, message: degraded() });
      statusChanged = true;
    } else if (healthy === true && st.phase === "Degraded") {
      setStage(run, { ...st, phase: "Ready", message: `${objectsReady(st.objects ?? 0)} (recovered)` });
      events.push(["Normal", Reason.HealthRecovered, `Stage ${stage} revision ${st.appliedRevision} recovered`, {}]);
    }
  }
  const conditionChanged = syncReadyCondition(run);
  if (events.length === 0 && !conditionChanged && !statusChanged) return;
  await save(run);
  for (const [type, reason, message, detail] of events) await recordTransition(run, type, reason, message, detail);
}

/** Once the run is over, the Ready condition follows the stages' live health. True when it changed. */
export function syncReadyCondition(run: Run): boolean {
  if (!isRunComplete({ generation: run.generation, stageNames: run.stageNames, status: run.status })) return false;
  const degraded = (run.status.stages ?? []).filter(s => s.phase === "Degraded" && run.stageNames.includes(s.name));
  const ready = getCondition(run.status.conditions, "Ready");
  if (degraded.length > 0) {
    const message = degraded.map(s => s.message).join("; ");
    if (ready?.reason === Reason.HealthDegraded && ready.message === message) return false;
    run.status.conditions = markNotReady(run.status.conditions, Reason.HealthDegraded, message, run.generation, nowISO(run));
    return true;
  }
  if (ready?.reason !== Reason.HealthDegraded) return false;
  run.status.conditions = markReady(run.status.conditions, Reason.Succeeded, `Applied ${pinnedSummary(run)} (recovered)`, run.generation, nowISO(run));
  return true;
}

/**
 * An outcome that leaves a verified stage's objects unfollowed (its gate closed on this
 * replica) says so, and comes back soon, not at the resync: its replica is not synced yet.
 */
export function markedPartial(run: Run, out: Outcome): Outcome {
  if (!run.unfollowed) return out;
  if (out.kind === "resync") return { ...out, afterMs: Math.min(out.afterMs, unfollowedRetryMs), partial: true };
  if (out.kind === "requeue") return { ...out, partial: true };
  return out;
}
