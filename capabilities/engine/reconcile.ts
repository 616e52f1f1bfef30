// One reconcile of one StageSet, from a fresh read: early exits first (gone, deleting,
// suspended, invalid), then steps until the run must wait. Failures become a stable reason
// on the status and an Outcome for the queue; nothing here sleeps.
import { Reason, StageSetError, type StageSet, type StageStatus } from "../api";
import { KubeApiError } from "../kube";
import { getCondition, markFailed } from "./conditions";
import { finalize, finalizer, finishRun } from "./finish";
import { nextStep, upgradedStatus } from "./plan";
import type { Outcome } from "./queue";
import { assertLeading, logFields, newRun, NotLeading, nowISO, save, sawWrite, setStage, type EngineDeps, type Run } from "./run";
import { refuseCrossNamespaceRefs, validateSpec } from "./guards";
import { followWithoutWrites } from "./follow";
import { resolveSources } from "./sources";
import { readStageSet, stageSetPath, type StageSetKey } from "./status";
import { applyStep, compileStageExprs, preflight, startRun, waitStep } from "./steps";
import { actionStep, hooksOf, runOnFailure } from "./actions";
import { markedPartial, syncLiveHealth } from "./health-sync";
import { durationOr } from "../api";
import { verificationOf } from "../gate";
import { recordTransition } from "./notifications";
import { approvalStep, holdStart, promotionOf, soakStep, syncApprovals } from "./promotion";

/** Failures of the stage itself (not of the controller or the input), which call onFailure actions. */
const stageFailures = new Set<string>([Reason.HealthCheckFailed, Reason.HealthCheckTimeout, Reason.ApplyFailed, Reason.Forbidden, Reason.ActionFailed, Reason.ActionRefused, Reason.ActionTimeout]);


export const requestedAtAnnotation = "reconcile.fluxcd.io/requestedAt";

export async function reconcile(deps: EngineDeps, key: StageSetKey): Promise<Outcome> {
  const ss = await readStageSet(deps.client, key);
  if (!ss) return { kind: "forget" };
  const run = newRun(deps, key, ss);
  return markedPartial(run, await reconcileRun(run));
}

async function reconcileRun(run: Run): Promise<Outcome> {
  const { ss, deps, key } = run;
  try {
    if (ss.metadata?.deletionTimestamp) return await finalize(run);
    await ensureFinalizer(run);
    // Suspended: nothing applied or written, but the verified stages' objects are still followed, as on every replica.
    if (ss.spec?.suspend) return (await followWithoutWrites(run), { kind: "stalled" });
    compileStageExprs(run);
    validateSpec(run);
    refuseCrossNamespaceRefs(run);
    const resolved = await resolveSources(deps.client, deps.discovery, key.namespace, run.stages);
    run.sources = resolved.sources;
    if (resolved.failure) {
      // The run waits for that source; the verified stages of the others are still followed,
      // and their status still says when they degrade or recover.
      await syncLiveHealth(run);
      throw resolved.failure;
    }
    return await drive(run);
  } catch (err) {
    return await fail(run, err);
  }
}

async function drive(run: Run): Promise<Outcome> {
  const requestedAt = run.ss.metadata?.annotations?.[requestedAtAnnotation];
  const artifacts = Object.fromEntries([...run.sources].map(([stage, s]) => [stage, { revision: s.artifact.revision, digest: s.artifact.digest }]));
  const upgraded = upgradedStatus(run.status, run.generation, artifacts);
  if (upgraded) run.status = upgraded;
  if (syncApprovals(run, run.ss) || upgraded) await save(run);
  await syncLiveHealth(run);
  const intervalMs = durationOr(10 * 60_000, run.ss.spec?.interval);
  const hooks = hooksOf(run);
  const promotion = promotionOf(run);
  // Each stage takes at most pre + apply + wait + post; the bound only guards against a planning bug.
  for (let i = 0; i < run.stages.length * 5 + 3; i++) {
    assertLeading(run.deps);
    const step = nextStep({ generation: run.generation, stageNames: run.stageNames, status: run.status, artifacts, requestedAt, now: run.deps.now(), intervalMs, hooks, promotion, approvals: run.status.approvals });
    switch (step.kind) {
      case "start-run": {
        const held = step.held ? await holdStart(run, step.why, intervalMs) : undefined;
        if (held) return held;
        await startRun(run, step.why, requestedAt);
        break;
      }
      case "soak":
        return await soakStep(run, step.stage);
      case "approval":
        return await approvalStep(run, step.stage, intervalMs);
      case "action": {
        // Nothing of a stage runs, its pre actions included, before it is known that it may
        // apply. Checked before a pre action starts, not on every requeue while one runs.
        if (step.hook === "pre" && !preActionRunning(run, step.stage)) await preflight(run, step.stage);
        const outcome = await actionStep(run, step.stage, step.hook);
        if (outcome) return outcome;
        break;
      }
      case "apply":
        await applyStep(run, step.stage);
        break;
      case "wait": {
        const outcome = await waitStep(run, step.stage);
        if (outcome) return outcome;
        break;
      }
      case "finish":
        return await finishRun(run);
      case "idle":
        return { kind: "resync", afterMs: step.resyncInMs }; // sooner when a stage could not be followed (markedPartial)
    }
  }
  throw new Error("reconcile made no progress within its step bound");
}

async function ensureFinalizer(run: Run): Promise<void> {
  const finalizers = run.ss.metadata?.finalizers;
  if (finalizers?.includes(finalizer)) return;
  assertLeading(run.deps);
  const op = finalizers ? { op: "add", path: "/metadata/finalizers/-", value: finalizer } : { op: "add", path: "/metadata/finalizers", value: [finalizer] };
  sawWrite(run, (await run.deps.client.jsonPatch<StageSet>(stageSetPath(run.key), [op])).body);
}

/** A pre action of the stage's pinned revision is under way (its preflight passed when it started). */
function preActionRunning(run: Run, stage: string): boolean {
  const revision = run.status.lastAttemptedRevisions?.[stage];
  return run.status.actions?.some(a => a.stage === stage && a.hook === "pre" && a.revision === revision && a.phase === "Running") ?? false;
}

/** A retryable failure while re-verifying a stage's verified artifact at this generation, not about its objects' health. */
function reverifying(run: Run, st: StageStatus, reason: string, terminal: boolean): boolean {
  if (terminal || reason === Reason.HealthCheckFailed || reason === Reason.HealthCheckTimeout) return false;
  return st.verifiedGeneration === run.generation && !!st.appliedRevision && st.attemptedRevision === st.appliedRevision && st.attemptedDigest === st.appliedDigest;
}

async function fail(run: Run, err: unknown): Promise<Outcome> {
  const known = err instanceof StageSetError;
  // Cut short: what this replica follows of it may not be whole yet (partial).
  if (err instanceof NotLeading) return { kind: "requeue", afterMs: 0, partial: true }; // the controller follows it instead now
  if (err instanceof KubeApiError && err.status === 409 && err.method === "PATCH") return { kind: "requeue", afterMs: 100, partial: true }; // a write raced ours: read again
  const reason = known ? err.reason : Reason.ReconciliationFailed;
  const message = err instanceof Error ? err.message : String(err);
  const terminal = known && err.terminal;
  run.deps.log.warn({ ...logFields(run), reason, err: message }, "reconcile failed");
  if (run.stage) {
    const st = run.status.stages?.find(s => s.name === run.stage);
    if (st && reverifying(run, st, reason, terminal)) {
      // A resync re-applies the very content already verified under this generation: its failure
      // (an API error, a refused patch) changes nothing in the cluster, so the stage stays Ready
      // (live health still follows it) and its gate open; the StageSet's conditions carry the failure.
      // A stage live health sees degraded stays Degraded (no second HealthDegraded Event).
      const degraded = run.deps.liveHealth?.healthy(run.key.namespace, run.key.name, st.name, verificationOf(st)) === false;
      setStage(run, { ...st, phase: degraded ? "Degraded" : "Ready", message: `re-applying revision ${st.appliedRevision} failed, its verified objects are unchanged: ${message}` });
    } else {
      // Say what is still in the cluster: the objects of the last revision that was applied.
      const kept = st?.appliedRevision && st.appliedRevision !== st.attemptedRevision ? `; the objects of revision ${st.appliedRevision} (last applied) are unchanged` : "";
      setStage(run, { ...st, name: run.stage, phase: "Failed", message: `${message}${kept}` });
    }
  }
  const before = getCondition(run.status.conditions, "Ready");
  run.status.observedGeneration = terminal ? run.generation : run.status.observedGeneration;
  run.status.conditions = markFailed(run.status.conditions, reason, message, terminal, run.generation, nowISO(run));
  try {
    await save(run);
    // One Event per failure, not one per retry of the same failure.
    if (before?.reason !== reason || before.message !== message) await recordTransition(run, "Warning", reason, message, { notify: "Failed", stage: run.stage, revision: run.stage ? run.status.lastAttemptedRevisions?.[run.stage] : undefined });
    if (run.stage && run.status.lastAttemptedRevisions?.[run.stage] && stageFailures.has(reason)) await runOnFailure(run, run.stage);
  } catch (saveErr) {
    run.deps.log.warn({ ...logFields(run), err: String(saveErr) }, "could not record the failure in status");
  }
  return terminal ? { kind: "stalled" } : { kind: "retry", error: err };
}
